/// RFC 7541 §5.1 integer representation: an N-bit prefix in the first octet (whose upper bits
/// carry flags), continued in 7-bit groups, least significant first, when the prefix is full.
enum IntegerCoding {
    /// The largest integer the decoder accepts. Indices, string lengths and table sizes never
    /// come near it; anything larger is an attack or garbage (§7.4 asks for overflow checks).
    static let maximumDecodedValue = Int(Int32.max)

    /// Continuation octets needed for `maximumDecodedValue` (31 bits / 7 per octet, rounded
    /// up). Longer encodings, even of small values padded with 0x80 octets, are rejected.
    static let maximumContinuationOctets = 5

    /// Appends `value` with a `prefixBits`-bit prefix (1...8); `flags` fills the octet's
    /// upper `8 - prefixBits` bits.
    static func encode(_ value: Int, prefixBits: Int, flags: UInt8, into buffer: inout [UInt8]) {
        precondition(value >= 0, "HPACK integers are unsigned")
        let prefixMax = (1 << prefixBits) - 1
        if value < prefixMax {
            buffer.append(flags | UInt8(truncatingIfNeeded: value))
            return
        }
        buffer.append(flags | UInt8(truncatingIfNeeded: prefixMax))
        var rest = value - prefixMax
        while rest >= 0x80 {
            buffer.append(0x80 | UInt8(truncatingIfNeeded: rest & 0x7f))
            rest >>= 7
        }
        buffer.append(UInt8(truncatingIfNeeded: rest))
    }

    /// Reads an integer whose first octet is the next one in `reader`, ignoring the flag bits
    /// above the `prefixBits`-bit prefix.
    static func decode(prefixBits: Int, from reader: inout ByteReader) throws(HPACKError) -> Int {
        let prefixMax = (1 << prefixBits) - 1
        let prefix = Int(try reader.readByte()) & prefixMax
        if prefix < prefixMax { return prefix }

        // UInt64 cannot overflow here: at most 255 + (2^35 - 1).
        var value = UInt64(prefix)
        var shift: UInt64 = 0
        for _ in 0..<maximumContinuationOctets {
            let octet = try reader.readByte()
            value += UInt64(octet & 0x7f) << shift
            if octet & 0x80 == 0 {
                guard value <= UInt64(maximumDecodedValue) else { throw .integerOverflow }
                return Int(value)
            }
            shift += 7
        }
        throw .integerOverflow
    }
}
