/// The wire type in the low three bits of a field's tag.
///
/// Protocol Buffers encoding spec, "Message Structure": `tag = (field_number << 3) | wire_type`.
/// Types 3 and 4 are the deprecated proto2 groups; 6 and 7 are invalid.
public enum WireType: UInt8, Sendable, CustomStringConvertible {
    /// int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    case varint = 0
    /// fixed64, sfixed64, double.
    case fixed64 = 1
    /// string, bytes, embedded messages, packed repeated fields (`LEN`).
    case lengthDelimited = 2
    /// Group start (proto2, deprecated).
    case startGroup = 3
    /// Group end (proto2, deprecated).
    case endGroup = 4
    /// fixed32, sfixed32, float.
    case fixed32 = 5

    public var description: String {
        switch self {
        case .varint: "VARINT"
        case .fixed64: "I64"
        case .lengthDelimited: "LEN"
        case .startGroup: "SGROUP"
        case .endGroup: "EGROUP"
        case .fixed32: "I32"
        }
    }
}

/// Field numbers run from 1 to 2^29 − 1 (encoding spec, "Message Structure"; the tag is a 32-bit varint).
public let maximumFieldNumber = (1 << 29) - 1
