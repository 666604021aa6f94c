/// Why bytes could not be decoded as a protobuf message. Offsets count from the
/// start of the buffer given to the outermost `ProtoReader`.
public enum ProtoWireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A value starting at `offset` needs `needed` bytes but only `available` remain
    /// (in the buffer or in the enclosing length-delimited field).
    case truncated(offset: Int, needed: Int, available: Int)
    /// The varint at `offset` does not fit in 64 bits: more than 10 bytes, or a 10th byte above 1.
    case varintTooLong(offset: Int)
    /// The tag at `offset` has wire type 6 or 7.
    case invalidWireType(Int, offset: Int)
    /// The tag at `offset` has field number 0, which the spec reserves as invalid.
    case fieldNumberZero(offset: Int)
    /// The tag at `offset` has a field number above 2^29 − 1.
    case fieldNumberOutOfRange(UInt64, offset: Int)
    /// A proto2 group (wire type 3 or 4) in field `field`; groups are not supported.
    case groupsUnsupported(field: Int)
    /// The string in field `field` is not valid UTF-8, which proto3 requires.
    case invalidUTF8(field: Int)
    /// Field `field` was read as `expected` but its tag says `actual`.
    case wrongWireType(field: Int, expected: WireType, actual: WireType)

    public var description: String {
        switch self {
        case let .truncated(offset, needed, available):
            "truncated protobuf: value at offset \(offset) needs \(needed) bytes, \(available) available"
        case let .varintTooLong(offset):
            "varint at offset \(offset) does not fit in 64 bits (over 10 bytes)"
        case let .invalidWireType(type, offset):
            "invalid wire type \(type) in tag at offset \(offset)"
        case let .fieldNumberZero(offset):
            "field number 0 in tag at offset \(offset)"
        case let .fieldNumberOutOfRange(number, offset):
            "field number \(number) in tag at offset \(offset) exceeds \(maximumFieldNumber)"
        case let .groupsUnsupported(field):
            "field \(field) is a group (wire type 3/4), which is not supported"
        case let .invalidUTF8(field):
            "string field \(field) is not valid UTF-8"
        case let .wrongWireType(field, expected, actual):
            "field \(field) read as \(expected) but encoded as \(actual)"
        }
    }
}
