/// A cursor over one header block. Every read checks the remaining length, so malformed input
/// surfaces as `HPACKError.truncatedBlock` rather than a trap.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var position: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.position = 0
    }

    var isAtEnd: Bool { position >= bytes.count }

    var remaining: Int { bytes.count - position }

    /// The next octet without consuming it.
    func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    mutating func readByte() throws(HPACKError) -> UInt8 {
        guard position < bytes.count else { throw .truncatedBlock }
        defer { position += 1 }
        return bytes[position]
    }

    /// The next `count` octets; `count` must not be negative.
    mutating func readBytes(_ count: Int) throws(HPACKError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw .truncatedBlock }
        defer { position += count }
        return bytes[position..<(position + count)]
    }
}
