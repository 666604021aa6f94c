/// SETTINGS parameters (RFC 9113 §6.5.2) as one value, with the protocol defaults.
public struct HTTP2Settings: Equatable, Sendable {
    public var headerTableSize: Int = 4096
    public var enablePush: Bool = true
    /// nil: unlimited, the protocol default.
    public var maxConcurrentStreams: Int? = nil
    public var initialWindowSize: Int = 65_535
    public var maxFrameSize: Int = 16_384
    /// nil: unlimited, the protocol default.
    public var maxHeaderListSize: Int? = nil

    public init() {}

    enum Identifier: UInt16 {
        case headerTableSize = 0x1, enablePush = 0x2, maxConcurrentStreams = 0x3
        case initialWindowSize = 0x4, maxFrameSize = 0x5, maxHeaderListSize = 0x6
    }

    /// Largest flow-control window (§6.9.1) and the frame-size bounds (§6.5.2).
    static let maxWindowSize = 0x7fff_ffff
    static let maxFrameSizeRange = 16_384...0xff_ffff

    /// Applies one received SETTINGS payload. Unknown identifiers are ignored (§6.5.2).
    mutating func apply(payload: [UInt8]) throws(HTTP2ConnectionError) {
        guard payload.count % 6 == 0 else {
            throw HTTP2ConnectionError(.frameSizeError, "SETTINGS payload of \(payload.count) bytes is not a multiple of 6")
        }
        var offset = 0
        while offset < payload.count {
            let id = UInt16(payload[offset]) << 8 | UInt16(payload[offset + 1])
            let value = Int(readUInt32(payload[...], at: offset + 2))
            offset += 6
            switch Identifier(rawValue: id) {
            case .headerTableSize: headerTableSize = value
            case .enablePush:
                guard value <= 1 else { throw HTTP2ConnectionError(.protocolError, "SETTINGS_ENABLE_PUSH \(value) is not 0 or 1") }
                enablePush = value == 1
            case .maxConcurrentStreams: maxConcurrentStreams = value
            case .initialWindowSize:
                guard value <= Self.maxWindowSize else {
                    throw HTTP2ConnectionError(.flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE \(value) exceeds 2^31-1")
                }
                initialWindowSize = value
            case .maxFrameSize:
                guard Self.maxFrameSizeRange.contains(value) else {
                    throw HTTP2ConnectionError(.protocolError, "SETTINGS_MAX_FRAME_SIZE \(value) is outside 16384...16777215")
                }
                maxFrameSize = value
            case .maxHeaderListSize: maxHeaderListSize = value
            case nil: continue
            }
        }
    }

    /// The SETTINGS payload announcing every value that differs from the defaults.
    func payload() -> [UInt8] {
        let defaults = HTTP2Settings()
        var entries: [(Identifier, Int)] = []
        if headerTableSize != defaults.headerTableSize { entries.append((.headerTableSize, headerTableSize)) }
        if enablePush != defaults.enablePush { entries.append((.enablePush, enablePush ? 1 : 0)) }
        if let limit = maxConcurrentStreams { entries.append((.maxConcurrentStreams, limit)) }
        if initialWindowSize != defaults.initialWindowSize { entries.append((.initialWindowSize, initialWindowSize)) }
        if maxFrameSize != defaults.maxFrameSize { entries.append((.maxFrameSize, maxFrameSize)) }
        if let limit = maxHeaderListSize { entries.append((.maxHeaderListSize, limit)) }
        var bytes: [UInt8] = []
        for (id, value) in entries {
            bytes.append(UInt8(id.rawValue >> 8))
            bytes.append(UInt8(id.rawValue & 0xff))
            appendUInt32(UInt32(value), to: &bytes)
        }
        return bytes
    }
}
