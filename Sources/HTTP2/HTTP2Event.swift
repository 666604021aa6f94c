import HPACK

/// What the connection tells its owner after reading bytes.
public enum HTTP2Event: Equatable, Sendable {
    /// The peer's first SETTINGS arrived: the connection is established (a client's
    /// dial completes here, as grpc-go's does).
    case ready
    /// A complete header block: a request, a response, or trailers when `endStream`.
    case headers(stream: UInt32, fields: [HeaderField], endStream: Bool)
    case data(stream: UInt32, bytes: [UInt8], endStream: Bool)
    /// The peer reset a stream (RST_STREAM), or a GOAWAY dropped it unprocessed.
    case streamReset(stream: UInt32, code: HTTP2ErrorCode)
    /// We reset a stream the owner knows about because the peer broke the protocol on it.
    case streamError(stream: UInt32, code: HTTP2ErrorCode, reason: String)
    case goAway(lastStreamID: UInt32, code: HTTP2ErrorCode, debug: String)
    /// We ended the connection: GOAWAY is queued; flush the outbound bytes and close.
    case connectionError(HTTP2ConnectionError)
    /// A stream the owner had queued data on can send again (flow-control credit arrived).
    case windowOpened
}
