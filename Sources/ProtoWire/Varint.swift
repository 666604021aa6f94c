/// Base-128 varints (encoding spec, "Base 128 Varints"): seven payload bits per byte,
/// least significant group first, high bit set on every byte but the last.
enum Varint {
    /// A 64-bit value takes at most ceil(64 / 7) = 10 bytes.
    static let maximumLength = 10

    /// The number of bytes `value` takes as a varint (1...10).
    static func encodedLength(_ value: UInt64) -> Int {
        // Each byte holds 7 bits; a zero value still takes one byte.
        let significantBits = 64 - value.leadingZeroBitCount
        return max(1, (significantBits + 6) / 7)
    }

    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }
}
