/// When a failed request is sent again, and after how long: connection failures,
/// 429 and the 5xx statuses that mean "try later" (500, 502, 503, 504), with a delay
/// that doubles from `initialDelay` to `maximumDelay`, or the server's Retry-After.
/// Other 4xx answers are never retried: sending the same request cannot change them.
public struct RetryPolicy: Sendable, Equatable {
    /// Requests sent in all, the first included; 1 retries nothing.
    public var maximumAttempts: Int
    public var initialDelay: Duration
    public var maximumDelay: Duration
    /// A longer Retry-After is cut to this, so that one answer cannot stall a caller.
    public var maximumRetryAfter: Duration

    public init(maximumAttempts: Int = 6, initialDelay: Duration = .milliseconds(200),
                maximumDelay: Duration = .seconds(5), maximumRetryAfter: Duration = .seconds(30)) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// No retries (a 401 still re-reads a token file once).
    public static let none = RetryPolicy(maximumAttempts: 1)

    /// The wait before attempt `attempt + 1`: 200 ms, 400 ms, 800 ms, ... up to the maximum.
    func delay(afterAttempt attempt: Int) -> Duration {
        var delay = initialDelay
        for _ in 1..<max(1, attempt) {
            delay *= 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }

    /// The statuses worth another try (client-go's IsRetryableError and its 429 and
    /// Retry-After handling, plus 502 and 504 that proxies in front of the server send).
    static func isRetryable(status: Int) -> Bool {
        [429, 500, 502, 503, 504].contains(status)
    }

    /// Whether a curl failure may be retried. A failure before the request can have
    /// left (no address, refused, the TLS handshake interrupted) always may; one after
    /// it may have reached the server (an empty reply, a reset, a timeout) only for a
    /// request that does no harm twice.
    static func mayRetry(curlCode code: Int, idempotent: Bool) -> Bool {
        switch code {
        case 5, 6, 7, 35:  // CURLE_COULDNT_RESOLVE_PROXY, _RESOLVE_HOST, _CONNECT, CURLE_SSL_CONNECT_ERROR
            return true
        case 16, 18, 28, 52, 55, 56, 92:  // HTTP2, PARTIAL_FILE, OPERATION_TIMEDOUT, GOT_NOTHING, SEND_ERROR, RECV_ERROR, HTTP2_STREAM
            return idempotent
        default:  // certificate problems, a malformed URL, ...: the same again
            return false
        }
    }
}
