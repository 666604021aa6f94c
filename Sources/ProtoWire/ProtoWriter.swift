/// Builds a protobuf encoding field by field.
///
/// The `write(field:…)` methods follow proto3 implicit presence (encoding spec,
/// "Default values" / language guide "Field presence"): a scalar holding its default
/// (0, false, empty string or bytes, empty repeated field) is not written. Callers
/// write fields in field-number order, as protobuf-go and C++ do, so that output is
/// byte-for-byte theirs.
public struct ProtoWriter: Sendable {
    /// The encoding so far.
    public private(set) var bytes: [UInt8]

    public init() {
        bytes = []
    }

    // MARK: Raw values

    /// Appends `value` as a base-128 varint, whatever its value.
    public mutating func writeVarint(_ value: UInt64) {
        Varint.append(value, to: &bytes)
    }

    /// Appends a tag: `(field << 3) | wireType`, as a varint.
    /// - Precondition: `field` is in 1...2^29 − 1 (a programming error otherwise).
    public mutating func writeTag(field: Int, wireType: WireType) {
        precondition((1...maximumFieldNumber).contains(field), "protobuf field number \(field) out of range")
        writeVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// Appends four bytes, little-endian (encoding spec, "Non-varint Numbers").
    public mutating func writeFixed32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends eight bytes, little-endian.
    public mutating func writeFixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a varint length and then `payload`.
    public mutating func writeLengthDelimited(_ payload: some Collection<UInt8>) {
        writeVarint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    // MARK: Scalar fields (default omitted)

    public mutating func write(field: Int, bool: Bool) {
        guard bool else { return }
        writeTag(field: field, wireType: .varint)
        writeVarint(1)
    }

    /// A negative int32 is sign-extended to 64 bits and so takes 10 bytes
    /// (encoding spec, "Signed Integers": int32 and int64 are interchangeable on the wire).
    public mutating func write(field: Int, int32: Int32) {
        write(field: field, int64: Int64(int32))
    }

    public mutating func write(field: Int, int64: Int64) {
        guard int64 != 0 else { return }
        writeTag(field: field, wireType: .varint)
        writeVarint(UInt64(bitPattern: int64))
    }

    public mutating func write(field: Int, uint32: UInt32) {
        write(field: field, uint64: UInt64(uint32))
    }

    public mutating func write(field: Int, uint64: UInt64) {
        guard uint64 != 0 else { return }
        writeTag(field: field, wireType: .varint)
        writeVarint(uint64)
    }

    /// ZigZag-encoded varint.
    public mutating func write(field: Int, sint32: Int32) {
        write(field: field, uint64: UInt64(ZigZag.encode(sint32)))
    }

    /// ZigZag-encoded varint.
    public mutating func write(field: Int, sint64: Int64) {
        write(field: field, uint64: ZigZag.encode(sint64))
    }

    public mutating func write(field: Int, fixed32: UInt32) {
        guard fixed32 != 0 else { return }
        writeTag(field: field, wireType: .fixed32)
        writeFixed32(fixed32)
    }

    public mutating func write(field: Int, fixed64: UInt64) {
        guard fixed64 != 0 else { return }
        writeTag(field: field, wireType: .fixed64)
        writeFixed64(fixed64)
    }

    public mutating func write(field: Int, sfixed32: Int32) {
        write(field: field, fixed32: UInt32(bitPattern: sfixed32))
    }

    public mutating func write(field: Int, sfixed64: Int64) {
        write(field: field, fixed64: UInt64(bitPattern: sfixed64))
    }

    /// IEEE 754 binary32, little-endian. Only +0.0 is the default: −0.0 and NaN are
    /// written, as protobuf-go does (it compares the bit pattern with 0).
    public mutating func write(field: Int, float: Float) {
        write(field: field, fixed32: float.bitPattern)
    }

    /// IEEE 754 binary64, little-endian; only +0.0 is omitted.
    public mutating func write(field: Int, double: Double) {
        write(field: field, fixed64: double.bitPattern)
    }

    // MARK: Length-delimited fields

    /// UTF-8 bytes; the empty string is omitted.
    public mutating func write(field: Int, string: String) {
        guard !string.isEmpty else { return }
        writeTag(field: field, wireType: .lengthDelimited)
        writeLengthDelimited(string.utf8)
    }

    /// Empty bytes are omitted.
    public mutating func write(field: Int, bytes payload: some Collection<UInt8>) {
        guard !payload.isEmpty else { return }
        writeTag(field: field, wireType: .lengthDelimited)
        writeLengthDelimited(payload)
    }

    /// Always written, even when empty (a set sub-message is tag + length, possibly 0).
    /// For an optional sub-message, call this only when it is present.
    public mutating func write(field: Int, message: some ProtoMessage) {
        writeTag(field: field, wireType: .lengthDelimited)
        var nested = ProtoWriter()
        message.encode(to: &nested)
        writeLengthDelimited(nested.bytes)
    }

    /// Each element as its own field, in order; an empty element is still written
    /// (only the empty list is the default).
    public mutating func write<Message: ProtoMessage>(field: Int, repeatedMessage: [Message]) {
        for message in repeatedMessage {
            write(field: field, message: message)
        }
    }

    /// One tag per element: repeated strings are never packed (encoding spec,
    /// "Packed Repeated Fields": only scalar numeric types pack). Empty elements are written.
    public mutating func write(field: Int, repeatedString: [String]) {
        for string in repeatedString {
            writeTag(field: field, wireType: .lengthDelimited)
            writeLengthDelimited(string.utf8)
        }
    }
}
