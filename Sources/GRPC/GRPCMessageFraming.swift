/// gRPC's length-prefixed messages (PROTOCOL-HTTP2.md "Length-Prefixed-Message"):
/// a compressed flag byte, a 4-byte big-endian length, the payload.
public enum GRPCMessageFraming {
    /// Both directions' default limit, as in grpc-go and grpc C-core.
    public static let defaultMaxMessageSize = 4 * 1024 * 1024

    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0]
        bytes.reserveCapacity(5 + payload.count)
        let length = UInt32(payload.count)
        bytes.append(UInt8(truncatingIfNeeded: length >> 24))
        bytes.append(UInt8(truncatingIfNeeded: length >> 16))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: length))
        bytes.append(contentsOf: payload)
        return bytes
    }
}

/// Reassembles messages from DATA payloads, whose boundaries are unrelated to
/// message boundaries. A declared length over the limit fails before anything of
/// it is buffered, so a prefix claiming 4 GiB costs nothing.
struct GRPCMessageDeframer {
    let maxMessageSize: Int
    private var buffer: [UInt8] = []

    init(maxMessageSize: Int) { self.maxMessageSize = maxMessageSize }

    var hasPartialMessage: Bool { !buffer.isEmpty }
    var bufferedCount: Int { buffer.count }

    mutating func append(_ bytes: [UInt8]) throws(GRPCStatus) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var messages: [[UInt8]] = []
        while buffer.count >= 5 {
            guard buffer[0] == 0 else {
                // No grpc-encoding is ever negotiated with us, so compression is an error.
                throw GRPCStatus(.internalError, "compressed message received but no grpc-encoding was negotiated")
            }
            let length = Int(buffer[1]) << 24 | Int(buffer[2]) << 16 | Int(buffer[3]) << 8 | Int(buffer[4])
            guard length <= maxMessageSize else {
                throw GRPCStatus(.resourceExhausted, "grpc: received message larger than max (\(length) vs. \(maxMessageSize))")
            }
            guard buffer.count >= 5 + length else { break }
            messages.append(Array(buffer[5..<5 + length]))
            buffer.removeFirst(5 + length)
        }
        return messages
    }
}
