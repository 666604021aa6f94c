import CCurl
import Synchronization

/// curl_global_init, once, before the first handle: curl_easy_init would call it
/// itself, but not safely from two threads at once. Swift runs a global's initializer
/// exactly once.
private let curlGlobalInitialization: CURLcode = curl_global_init(3)  // CURL_GLOBAL_ALL: SSL | WIN32

/// One HTTP exchange, as curl is told to make it.
struct CurlRequest {
    var method: String
    var url: String
    var headers: [String]
    var body: [UInt8]?
    /// The whole exchange's limit; nil for a watch, which has its own end.
    var timeout: Duration?
    /// Abort when nothing at all arrives for this long (curl's low-speed limit of one
    /// byte a second): a watch on a connection that died without a FIN.
    var idleLimit: Duration?
}

/// How every request reaches the server: the TLS trust, our certificate, limits.
struct ConnectionSettings: Sendable {
    var trust: KubeConfig.ServerTrust
    var clientCertificate: KubeConfig.ClientCertificate?
    var userAgent: String
    var connectTimeout: Duration
}

/// How an exchange ended.
enum CurlOutcome: Equatable {
    /// An HTTP answer, read to its end. `retryAfter` is the Retry-After header's.
    case response(status: Int, retryAfter: Duration?)
    /// The receiver returned false: it has what it wanted, or refuses the rest.
    case stoppedByReceiver
    /// The cancellation was signalled.
    case cancelled
    /// No (complete) answer: curl's code and its error text.
    case failed(code: Int, text: String)
}

/// A stop signal for a long transfer (a watch), set from any thread. curl looks at it
/// in its progress callback, which it calls at least once a second even when idle.
public final class WatchCancellation: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .releasing) }

    public var isCancelled: Bool { flag.load(ordering: .acquiring) }
}

/// A curl easy handle and its error buffer. It keeps its own connection cache, so the
/// pool reuses it request after request: one TLS handshake, not one per request. Only
/// one thread uses it at a time (the pool hands it out).
final class CurlEasyHandle: @unchecked Sendable {
    private let raw: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init?() {
        guard curlGlobalInitialization == CURLE_OK, let raw = curl_easy_init() else { return nil }
        self.raw = raw
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(raw)
        errorBuffer.deallocate()
    }

    /// What the write and progress callbacks reach through their `void *`.
    private final class Receiver {
        let handle: UnsafeMutableRawPointer
        let receive: (Int, UnsafeRawBufferPointer) -> Bool
        let cancellation: WatchCancellation?
        var status: Int?
        var stopped = false

        init(handle: UnsafeMutableRawPointer, cancellation: WatchCancellation?,
             receive: @escaping (Int, UnsafeRawBufferPointer) -> Bool) {
            self.handle = handle
            self.cancellation = cancellation
            self.receive = receive
        }

        func deliver(_ bytes: UnsafeRawBufferPointer) -> Bool {
            if status == nil {
                var code = 0
                _ = sriov_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
                status = code
            }
            guard receive(status!, bytes) else {
                stopped = true
                return false
            }
            return true
        }
    }

    /// Makes the exchange; `receive` gets the HTTP status and each piece of the body as
    /// it arrives, and returns false to stop.
    func perform(_ request: CurlRequest, settings: ConnectionSettings, cancellation: WatchCancellation? = nil,
                 receive: (Int, UnsafeRawBufferPointer) -> Bool) -> CurlOutcome {
        curl_easy_reset(raw)  // options only: the connection cache stays
        errorBuffer[0] = 0
        var headers: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headers) }
        for header in request.headers { headers = curl_slist_append(headers, header) }

        return withoutActuallyEscaping(receive) { receive in
            let receiver = Receiver(handle: raw, cancellation: cancellation, receive: receive)
            return withExtendedLifetime(receiver) {
                if let failure = configure(request, settings: settings, headers: headers, receiver: receiver) {
                    return failure
                }
                let code = curl_easy_perform(raw)
                if code == CURLE_OK {
                    var status = 0
                    _ = sriov_curl_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &status)
                    var retryAfter: curl_off_t = 0
                    _ = sriov_curl_getinfo_off_t(raw, CURLINFO_RETRY_AFTER, &retryAfter)
                    return .response(status: status, retryAfter: retryAfter > 0 ? .seconds(Int64(retryAfter)) : nil)
                }
                if code == CURLE_WRITE_ERROR && receiver.stopped { return .stoppedByReceiver }
                if code == CURLE_ABORTED_BY_CALLBACK && cancellation?.isCancelled == true { return .cancelled }
                return failure(code)
            }
        }
    }

    private func failure(_ code: CURLcode) -> CurlOutcome {
        let text = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        return .failed(code: Int(code.rawValue), text: text)
    }

    /// Sets every option for `request`; the first refusal as an outcome, nil when all took.
    private func configure(_ request: CurlRequest, settings: ConnectionSettings,
                           headers: UnsafeMutablePointer<curl_slist>?, receiver: Receiver) -> CurlOutcome? {
        var refused: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if refused == CURLE_OK { refused = code } }
        func set(_ option: CURLoption, _ value: Int) { check(sriov_curl_setopt_long(raw, option, value)) }
        func set(_ option: CURLoption, _ value: String?) { check(sriov_curl_setopt_string(raw, option, value)) }
        func set(_ option: CURLoption, blob: [UInt8]) {
            var copy = blob  // curl copies it (CURL_BLOB_COPY)
            check(copy.withUnsafeMutableBytes { sriov_curl_setopt_blob(raw, option, $0.baseAddress, $0.count) })
        }
        check(sriov_curl_setopt_pointer(raw, CURLOPT_ERRORBUFFER, errorBuffer))
        set(CURLOPT_URL, request.url)
        set(CURLOPT_NOSIGNAL, 1)  // no SIGALRM for DNS timeouts: we are multithreaded
        set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        set(CURLOPT_USERAGENT, settings.userAgent)
        check(sriov_curl_setopt_slist(raw, CURLOPT_HTTPHEADER, headers))
        set(CURLOPT_CONNECTTIMEOUT_MS, settings.connectTimeout.milliseconds)
        if let timeout = request.timeout { set(CURLOPT_TIMEOUT_MS, timeout.milliseconds) }
        if let idleLimit = request.idleLimit {
            set(CURLOPT_LOW_SPEED_LIMIT, 1)
            set(CURLOPT_LOW_SPEED_TIME, max(1, idleLimit.milliseconds / 1000))
        }
        set(CURLOPT_TCP_KEEPALIVE, 1)
        set(CURLOPT_TCP_KEEPIDLE, 30)
        set(CURLOPT_TCP_KEEPINTVL, 15)

        switch request.method {
        case "GET": set(CURLOPT_HTTPGET, 1)
        case "POST": break
        default: set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if let body = request.body {
            set(CURLOPT_POSTFIELDSIZE, body.count)
            // An empty array may have no storage; curl wants a pointer even for 0 bytes.
            let empty: StaticString = ""
            check(body.withUnsafeBytes { bytes in
                let start = bytes.baseAddress ?? UnsafeRawPointer(empty.utf8Start)
                return sriov_curl_setopt_pointer(raw, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: start))
            })
        }

        switch settings.trust {
        case .certificateAuthorityFile(let path):
            set(CURLOPT_CAINFO, path)
            set(CURLOPT_CAPATH, nil)  // only this CA, not also the system's directory of them
        case .certificateAuthorityData(let pem):
            set(CURLOPT_CAINFO_BLOB, blob: pem)
            set(CURLOPT_CAPATH, nil)
        case .systemRoots:
            break
        case .insecureSkipVerify:
            set(CURLOPT_SSL_VERIFYPEER, 0)
            set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let client = settings.clientCertificate {
            set(CURLOPT_SSLCERTTYPE, "PEM")
            set(CURLOPT_SSLKEYTYPE, "PEM")
            switch client.certificate {
            case .file(let path): set(CURLOPT_SSLCERT, path)
            case .data(let pem): set(CURLOPT_SSLCERT_BLOB, blob: pem)
            }
            switch client.key {
            case .file(let path): set(CURLOPT_SSLKEY, path)
            case .data(let pem): set(CURLOPT_SSLKEY_BLOB, blob: pem)
            }
        }

        check(sriov_curl_setopt_write_function(raw) { data, size, count, context in
            let receiver = Unmanaged<Receiver>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count  // curl's own buffer: cannot overflow
            return receiver.deliver(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
        })
        let context = Unmanaged.passUnretained(receiver).toOpaque()
        check(sriov_curl_setopt_pointer(raw, CURLOPT_WRITEDATA, context))
        if receiver.cancellation != nil {
            set(CURLOPT_NOPROGRESS, 0)
            check(sriov_curl_setopt_xferinfo_function(raw) { context, _, _, _, _ in
                let receiver = Unmanaged<Receiver>.fromOpaque(context!).takeUnretainedValue()
                return receiver.cancellation?.isCancelled == true ? 1 : 0
            })
            check(sriov_curl_setopt_pointer(raw, CURLOPT_XFERINFODATA, context))
        }
        guard refused == CURLE_OK else {
            return .failed(code: Int(refused.rawValue), text: "curl refused an option: " + String(cString: curl_easy_strerror(refused)))
        }
        return nil
    }
}

/// Easy handles kept for the next request, so that their connections are reused.
final class CurlHandlePool: Sendable {
    private let idle = Mutex<[CurlEasyHandle]>([])
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// `body` with a handle of its own; nil when curl cannot make one.
    func withHandle<Result>(_ body: (CurlEasyHandle) -> Result) -> Result? {
        let handle = idle.withLock { $0.popLast() } ?? CurlEasyHandle()
        guard let handle else { return nil }
        let result = body(handle)
        idle.withLock { idle in
            if idle.count < capacity { idle.append(handle) }
        }
        return result
    }
}

extension Duration {
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
