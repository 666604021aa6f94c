@testable import GRPC
import Foundation

/// A client that writes raw HTTP/2 bytes on a blocking Unix socket and reads only
/// when told to: a peer that stalls, floods or never reads.
struct RawHTTP2Client {
    let socket: UnixSocket

    init(path: String) throws { socket = try UnixSocket.connect(path: path) }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(type: 0x4, stream: 0)

    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8] = []) -> [UInt8] {
        [UInt8(payload.count >> 16 & 0xff), UInt8(payload.count >> 8 & 0xff), UInt8(payload.count & 0xff), type, flags]
            + bigEndian(stream) + payload
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    /// A request for `path` on `stream` with its empty message, half-closed. HPACK
    /// literals without indexing (RFC 7541 §6.2.2), so no table state is involved.
    static func request(path: String, stream: UInt32) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
                              ("content-type", "application/grpc"), ("te", "trailers")] {
            block += [0x00, UInt8(name.utf8.count)] + Array(name.utf8) + [UInt8(value.utf8.count)] + Array(value.utf8)
        }
        return frame(type: 0x1, flags: 0x4, stream: stream, block) + frame(type: 0x0, flags: 0x1, stream: stream, [0, 0, 0, 0, 0])
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count { offset += try socket.write(bytes[offset...]) }
    }

    /// Everything the server sends until it closes the connection; nil if it is
    /// still open after `timeout`.
    func readUntilClosed(within timeout: Duration) -> [UInt8]? {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while socket.wait(timeoutMilliseconds: ContinuousClock.now.duration(to: deadline).pollTimeoutMilliseconds) {
            switch socket.read(into: &buffer) {
            case .bytes(let count): received += buffer[0..<count]
            case .wouldBlock: continue
            case .endOfStream, .failed: return received
            }
        }
        return nil
    }

    /// Frames read until `done` says the one wanted has come, or `timeout` passes.
    func readFrames(within timeout: Duration, until done: ([(type: UInt8, stream: UInt32, payload: [UInt8])]) -> Bool)
        -> [(type: UInt8, stream: UInt32, payload: [UInt8])] {
        let deadline = ContinuousClock.now + timeout
        var pending: [UInt8] = []
        var frames: [(type: UInt8, stream: UInt32, payload: [UInt8])] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !done(frames), socket.wait(timeoutMilliseconds: ContinuousClock.now.duration(to: deadline).pollTimeoutMilliseconds) {
            guard case .bytes(let count) = socket.read(into: &buffer) else { break }
            pending += buffer[0..<count]
            frames += Self.parse(&pending)
        }
        return frames
    }

    /// Complete frames at the start of `bytes`, removed from it.
    static func parse(_ bytes: inout [UInt8]) -> [(type: UInt8, stream: UInt32, payload: [UInt8])] {
        var frames: [(type: UInt8, stream: UInt32, payload: [UInt8])] = []
        while bytes.count >= 9 {
            let length = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
            guard bytes.count >= 9 + length else { break }
            let stream = UInt32(bytes[5] & 0x7f) << 24 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 8 | UInt32(bytes[8])
            frames.append((bytes[3], stream, Array(bytes[9..<9 + length])))
            bytes.removeFirst(9 + length)
        }
        return frames
    }

    /// The error code of the first GOAWAY in `bytes`.
    static func goAwayCode(in bytes: [UInt8]) -> UInt32? {
        var rest = bytes
        guard let goAway = parse(&rest).first(where: { $0.type == 0x7 }), goAway.payload.count >= 8 else { return nil }
        let code = goAway.payload[4..<8]
        return code.reduce(0) { $0 << 8 | UInt32($1) }
    }

    func close() { socket.closeSocket() }
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes.
func eventually(within timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        usleep(5000)
    }
    return true
}
