import HPACK

/// The HTTP/2 connection of RFC 9113 as a sans-IO state machine, for either role.
/// Bytes go in through `receive(_:)`, which returns what happened; bytes to write
/// come out of `takeOutbound()`. The owner does all I/O and owns the threading:
/// the value is not shared between threads.
public struct HTTP2Connection: Sendable {
    public enum Role: Sendable { case server, client }

    /// Limits and settings we announce.
    public struct Configuration: Sendable {
        /// SETTINGS_MAX_CONCURRENT_STREAMS we announce and enforce (REFUSED_STREAM above it).
        public var maxConcurrentStreams = 1000
        /// SETTINGS_MAX_HEADER_LIST_SIZE we announce and enforce on decoded blocks.
        public var maxHeaderListSize = 65_536
        /// SETTINGS_INITIAL_WINDOW_SIZE we announce: what the peer may send per stream.
        public var initialWindowSize = 65_535
        /// The connection-level receive window, raised from 65535 by an initial WINDOW_UPDATE.
        public var connectionWindowSize = 1 << 20
        public init() {}
    }

    public let role: Role
    let configuration: Configuration
    let localSettings: HTTP2Settings
    public internal(set) var remoteSettings = HTTP2Settings()

    var parser: FrameParser
    var decoder: HPACKDecoder
    var encoder: HPACKEncoder
    var outbound: [UInt8] = []

    var streams: [UInt32: HTTP2StreamState] = [:]
    /// Round-robin order of streams with data waiting for credit.
    var sendQueue: [UInt32] = []
    /// Highest stream ID the peer opened, and the last one we opened.
    var lastPeerStream: UInt32 = 0
    var lastLocalStream: UInt32 = 0
    /// Streams we reset recently: frames still in flight on them are ignored (§5.1 "closed").
    var recentlyReset: [UInt32] = []

    var connectionSendWindow = 65_535
    var connectionReceiveWindow: Int
    var connectionReceiveUnacknowledged = 0

    var state: HTTP2ConnectionState
    /// A header block being continued by CONTINUATION frames (§6.10).
    var headerBlock: PartialHeaderBlock?

    /// True once a connection error was raised or a GOAWAY with an error code sent:
    /// write out what is queued, then close.
    public var isClosed: Bool { state == .closed }

    struct PartialHeaderBlock {
        var stream: UInt32
        var endStream: Bool
        var fragment: [UInt8]
        /// A stream error found in the first frame (a bad priority), raised once the
        /// block is decoded so the HPACK state stays in step with the peer's.
        var deferredError: HTTP2StreamError?
    }

    /// Largest frame payload we send: the peer's limit, capped at 16384 because
    /// grpc-go never reads larger frames.
    var outboundFrameLimit: Int { min(remoteSettings.maxFrameSize, 16_384) }

    public init(role: Role, configuration: Configuration = Configuration()) {
        self.role = role
        self.configuration = configuration
        var settings = HTTP2Settings()
        settings.maxConcurrentStreams = configuration.maxConcurrentStreams
        settings.maxHeaderListSize = configuration.maxHeaderListSize
        settings.initialWindowSize = configuration.initialWindowSize
        if role == .client { settings.enablePush = false }
        localSettings = settings
        parser = FrameParser(maxFrameSize: settings.maxFrameSize)
        decoder = HPACKDecoder(maxTableSize: settings.headerTableSize, maxHeaderListSize: configuration.maxHeaderListSize)
        encoder = HPACKEncoder()
        connectionReceiveWindow = 65_535
        state = role == .server ? .awaitingPreface : .awaitingSettings

        // §3.4: a client starts with the preface; either side then sends SETTINGS
        // at once (a grpc-go client blocks until the server's arrives).
        if role == .client { outbound.append(contentsOf: http2ClientPreface) }
        write(Frame(type: .settings, stream: 0, payload: settings.payload()))
        let raise = configuration.connectionWindowSize - 65_535
        if raise > 0 {
            writeWindowUpdate(stream: 0, increment: raise)
            connectionReceiveWindow += raise
        }
    }

    /// Bytes to write to the peer, in order. Empties the outbound buffer.
    public mutating func takeOutbound() -> [UInt8] {
        defer { outbound.removeAll(keepingCapacity: true) }
        return outbound
    }

    public var hasOutbound: Bool { !outbound.isEmpty }

    /// Streams currently open, in either direction.
    public var openStreamCount: Int { streams.count }

    /// Data queued on every stream waiting for the peer's flow-control credit.
    public var queuedDataBytes: Int { streams.values.reduce(0) { $0 + $1.pendingDataBytes } }

    /// Whether `stream` is open (we may still send or receive on it).
    public func isOpen(_ stream: UInt32) -> Bool { streams[stream] != nil }

    /// Data queued on `stream` waiting for the peer's flow-control credit.
    public func pendingDataBytes(on stream: UInt32) -> Int { streams[stream]?.pendingDataBytes ?? 0 }

    // MARK: Writing frames

    mutating func write(_ frame: Frame) {
        frame.serialize(into: &outbound)
    }

    mutating func writeWindowUpdate(stream: UInt32, increment: Int) {
        var payload: [UInt8] = []
        appendUInt32(UInt32(increment), to: &payload)
        write(Frame(type: .windowUpdate, stream: stream, payload: payload))
    }

    mutating func writeReset(stream: UInt32, code: HTTP2ErrorCode) {
        var payload: [UInt8] = []
        appendUInt32(code.rawValue, to: &payload)
        write(Frame(type: .rstStream, stream: stream, payload: payload))
    }

    mutating func writeGoAway(lastStream: UInt32, code: HTTP2ErrorCode, debug: String) {
        var payload: [UInt8] = []
        appendUInt32(lastStream, to: &payload)
        appendUInt32(code.rawValue, to: &payload)
        payload.append(contentsOf: debug.utf8.prefix(256))
        write(Frame(type: .goAway, stream: 0, payload: payload))
    }

    /// Encodes a header block and writes it as HEADERS plus CONTINUATION frames no
    /// larger than the outbound frame limit (§6.10). HPACK state changes in write
    /// order, so blocks are encoded only when they are written.
    mutating func writeHeaders(_ fields: [HeaderField], stream: UInt32, endStream: Bool) {
        let block = encoder.encode(fields)
        let limit = outboundFrameLimit
        var offset = 0
        var first = true
        repeat {
            let end = min(offset + limit, block.count)
            var flags: FrameFlags = end == block.count ? .endHeaders : []
            if first && endStream { flags.insert(.endStream) }
            write(Frame(type: first ? .headers : .continuation, flags: flags, stream: stream, payload: Array(block[offset..<end])))
            offset = end
            first = false
        } while offset < block.count
    }

    // MARK: Ending streams and the connection

    /// Resets a stream with `code` (RST_STREAM) and forgets it. Frames the peer
    /// already sent on it are ignored when they arrive.
    public mutating func resetStream(_ stream: UInt32, code: HTTP2ErrorCode) {
        guard !isClosed else { return }
        writeReset(stream: stream, code: code)
        forget(stream, reset: true)
    }

    mutating func forget(_ stream: UInt32, reset: Bool) {
        streams[stream] = nil
        sendQueue.removeAll { $0 == stream }
        if reset {
            recentlyReset.append(stream)
            if recentlyReset.count > 128 { recentlyReset.removeFirst(recentlyReset.count - 128) }
        }
    }

    /// Starts a graceful shutdown (§6.8): the peer learns the last stream we will
    /// process; streams already open run to completion. With an error code, or
    /// before the peer's SETTINGS (no stream of the peer's can be open yet), the
    /// connection is closed at once.
    public mutating func goAway(code: HTTP2ErrorCode = .noError, debug: String = "") {
        let last = role == .server ? lastPeerStream : 0
        switch state {
        case .closed:
            return
        case .awaitingPreface, .awaitingSettings:
            state = .closed
        case .open:
            state = .closing(goAwaySent: last, goAwayReceived: nil)
        case .closing(_, let received):
            state = .closing(goAwaySent: last, goAwayReceived: received)
        }
        writeGoAway(lastStream: last, code: code, debug: debug)
        if code != .noError { state = .closed }
    }

    /// Raises a connection error: GOAWAY with the code, and the connection is done.
    mutating func fail(_ error: HTTP2ConnectionError, events: inout [HTTP2Event]) {
        guard !isClosed else { return }
        writeGoAway(lastStream: lastPeerStream, code: error.code, debug: error.reason)
        state = .closed
        streams.removeAll()
        sendQueue.removeAll()
        events.append(.connectionError(error))
    }
}
