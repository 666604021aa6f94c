/// Frame types of RFC 9113 §6. Unknown types are kept so they can be ignored (§4.1).
public enum FrameType: Equatable, Sendable {
    case data, headers, priority, rstStream, settings, pushPromise, ping, goAway, windowUpdate, continuation
    case unknown(UInt8)

    init(_ raw: UInt8) {
        switch raw {
        case 0x0: self = .data
        case 0x1: self = .headers
        case 0x2: self = .priority
        case 0x3: self = .rstStream
        case 0x4: self = .settings
        case 0x5: self = .pushPromise
        case 0x6: self = .ping
        case 0x7: self = .goAway
        case 0x8: self = .windowUpdate
        case 0x9: self = .continuation
        default: self = .unknown(raw)
        }
    }

    var rawValue: UInt8 {
        switch self {
        case .data: 0x0
        case .headers: 0x1
        case .priority: 0x2
        case .rstStream: 0x3
        case .settings: 0x4
        case .pushPromise: 0x5
        case .ping: 0x6
        case .goAway: 0x7
        case .windowUpdate: 0x8
        case .continuation: 0x9
        case .unknown(let raw): raw
        }
    }
}

/// Frame flags (RFC 9113 §6): the bits are shared between frame types.
public struct FrameFlags: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let endStream = FrameFlags(rawValue: 0x1)
    public static let ack = FrameFlags(rawValue: 0x1)
    public static let endHeaders = FrameFlags(rawValue: 0x4)
    public static let padded = FrameFlags(rawValue: 0x8)
    public static let priority = FrameFlags(rawValue: 0x20)
}

/// One frame as read off the wire: the 9-octet header (§4.1) and the raw payload.
/// Payload interpretation is the connection's job, so that it can answer every
/// malformation with the error §6 prescribes for that frame type.
public struct Frame: Equatable, Sendable {
    public var type: FrameType
    public var flags: FrameFlags
    public var stream: UInt32
    public var payload: [UInt8]

    public init(type: FrameType, flags: FrameFlags = [], stream: UInt32, payload: [UInt8] = []) {
        self.type = type
        self.flags = flags
        self.stream = stream
        self.payload = payload
    }

    /// Appends the frame's wire form to `buffer`.
    func serialize(into buffer: inout [UInt8]) {
        let length = payload.count
        buffer.append(UInt8(truncatingIfNeeded: length >> 16))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(UInt8(truncatingIfNeeded: length))
        buffer.append(type.rawValue)
        buffer.append(flags.rawValue)
        appendUInt32(stream & 0x7fff_ffff, to: &buffer)
        buffer.append(contentsOf: payload)
    }
}

/// The client connection preface (RFC 9113 §3.4): `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
public let http2ClientPreface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

func appendUInt32(_ value: UInt32, to buffer: inout [UInt8]) {
    buffer.append(UInt8(truncatingIfNeeded: value >> 24))
    buffer.append(UInt8(truncatingIfNeeded: value >> 16))
    buffer.append(UInt8(truncatingIfNeeded: value >> 8))
    buffer.append(UInt8(truncatingIfNeeded: value))
}

func readUInt32(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt32 {
    let base = bytes.startIndex + offset
    return UInt32(bytes[base]) << 24 | UInt32(bytes[base + 1]) << 16 | UInt32(bytes[base + 2]) << 8 | UInt32(bytes[base + 3])
}
