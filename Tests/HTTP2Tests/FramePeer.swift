import HPACK
@testable import HTTP2
import XCTest

/// A hand-driven peer: builds raw frames and reads back what the connection wrote.
struct FramePeer {
    var encoder = HPACKEncoder(useHuffman: false, indexing: false)
    var decoder = HPACKDecoder()
    var parser = FrameParser(maxFrameSize: 1 << 24)

    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(payload.count >> 16 & 0xff), UInt8(payload.count >> 8 & 0xff), UInt8(payload.count & 0xff), type, flags]
        appendUInt32(stream, to: &bytes)
        return bytes + payload
    }

    static func settings(_ entries: [(UInt16, UInt32)] = []) -> [UInt8] {
        var payload: [UInt8] = []
        for (id, value) in entries {
            payload += [UInt8(id >> 8), UInt8(id & 0xff)]
            appendUInt32(value, to: &payload)
        }
        return frame(0x4, stream: 0, payload)
    }

    static let settingsAck = frame(0x4, flags: 0x1, stream: 0)

    static func windowUpdate(stream: UInt32, _ increment: UInt32) -> [UInt8] {
        var payload: [UInt8] = []
        appendUInt32(increment, to: &payload)
        return frame(0x8, stream: stream, payload)
    }

    static func rstStream(_ stream: UInt32, _ code: HTTP2ErrorCode) -> [UInt8] {
        var payload: [UInt8] = []
        appendUInt32(code.rawValue, to: &payload)
        return frame(0x3, stream: stream, payload)
    }

    static func data(_ stream: UInt32, _ payload: [UInt8], endStream: Bool = false) -> [UInt8] {
        frame(0x0, flags: endStream ? 0x1 : 0, stream: stream, payload)
    }

    mutating func headers(_ stream: UInt32, _ fields: [(String, String)], endStream: Bool = false, endHeaders: Bool = true) -> [UInt8] {
        let block = encoder.encode(fields.map { HeaderField(name: $0.0, value: $0.1) })
        var flags: UInt8 = endHeaders ? 0x4 : 0
        if endStream { flags |= 0x1 }
        return Self.frame(0x1, flags: flags, stream: stream, block)
    }

    static let request: [(String, String)] = [
        (":method", "POST"), (":scheme", "http"), (":path", "/v1beta1.DevicePlugin/Allocate"),
        (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers"),
    ]

    /// A server connection past the preface and SETTINGS exchange, its output drained.
    static func establishedServer(_ configuration: HTTP2Connection.Configuration = .init()) -> HTTP2Connection {
        var server = HTTP2Connection(role: .server, configuration: configuration)
        let events = server.receive(http2ClientPreface + settings())
        precondition(events == [.ready])
        _ = server.takeOutbound()
        return server
    }

    /// Frames in the bytes the connection wrote.
    mutating func frames(_ bytes: [UInt8]) -> [Frame] {
        parser.append(bytes)
        var frames: [Frame] = []
        while let frame = try? parser.nextFrame() { frames.append(frame) }
        return frames
    }

    mutating func decodeHeaders(_ frame: Frame) throws -> [HeaderField] {
        try decoder.decode(frame.payload)
    }
}

extension Frame {
    var errorCode: HTTP2ErrorCode? {
        switch type {
        case .rstStream: HTTP2ErrorCode(rawValue: readUInt32(payload[...], at: 0))
        case .goAway: HTTP2ErrorCode(rawValue: readUInt32(payload[...], at: 4))
        default: nil
        }
    }
}
