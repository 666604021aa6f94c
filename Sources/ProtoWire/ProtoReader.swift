/// Reads a protobuf encoding field by field.
///
/// Call `nextField()` for each tag, then one `read…` method for its value or
/// `skipField(_:)`. Every read checks the remaining length first: a length or value
/// running past the end of the buffer (or of the enclosing field) is
/// `ProtoWireError.truncated`, never a trap, and nothing is allocated from a length
/// before it is known to fit.
public struct ProtoReader: Sendable {
    private let bytes: ArraySlice<UInt8>
    private var index: Int
    /// Index of offset 0 in `bytes`: the outermost reader's start, inherited by
    /// nested readers so error offsets are absolute.
    private let origin: Int
    /// The tag most recently returned by `nextField()`; typed reads check its wire type.
    private var currentField: (number: Int, wireType: WireType)?

    public init(_ bytes: some Collection<UInt8>) {
        if let array = bytes as? [UInt8] {
            self.init(slice: array[...], origin: 0)
        } else if let slice = bytes as? ArraySlice<UInt8> {
            self.init(slice: slice, origin: slice.startIndex)
        } else {
            self.init(slice: ArraySlice(bytes), origin: 0)
        }
    }

    private init(slice: ArraySlice<UInt8>, origin: Int) {
        self.bytes = slice
        self.index = slice.startIndex
        self.origin = origin
    }

    /// Whether every byte has been consumed.
    public var isAtEnd: Bool { index >= bytes.endIndex }

    /// The position of the next byte, counted from the start of the outermost buffer.
    public var offset: Int { index - origin }

    private var remaining: Int { bytes.endIndex - index }

    // MARK: Tags

    /// The next field's number and wire type, or nil at the end.
    ///
    /// Field number 0, numbers above 2^29 − 1 and wire types 6 and 7 are errors
    /// (encoding spec, "Message Structure").
    public mutating func nextField() throws -> (number: Int, wireType: WireType)? {
        currentField = nil
        guard !isAtEnd else { return nil }
        let tagOffset = offset
        let tag = try consumeVarint()
        let number = tag >> 3
        guard number != 0 else { throw ProtoWireError.fieldNumberZero(offset: tagOffset) }
        guard number <= UInt64(maximumFieldNumber) else {
            throw ProtoWireError.fieldNumberOutOfRange(number, offset: tagOffset)
        }
        let rawWireType = UInt8(tag & 7)
        guard let wireType = WireType(rawValue: rawWireType) else {
            throw ProtoWireError.invalidWireType(Int(rawWireType), offset: tagOffset)
        }
        let field = (number: Int(number), wireType: wireType)
        currentField = field
        return field
    }

    /// Skips the value of the current field. Groups are rejected.
    public mutating func skipField(_ wireType: WireType) throws {
        switch wireType {
        case .varint: _ = try consumeVarint()
        case .fixed64: _ = try consumeFixed64()
        case .fixed32: _ = try consumeFixed32()
        case .lengthDelimited: _ = try consumeLengthDelimited()
        case .startGroup, .endGroup:
            throw ProtoWireError.groupsUnsupported(field: currentField?.number ?? 0)
        }
    }

    // MARK: Varint fields

    /// The raw varint value.
    public mutating func readVarint() throws -> UInt64 {
        try expect(.varint)
        return try consumeVarint()
    }

    /// Any non-zero varint is true, as in protobuf-go.
    public mutating func readBool() throws -> Bool {
        try readVarint() != 0
    }

    /// Keeps the low 32 bits of the varint, as protobuf does for int32 (so a
    /// sign-extended 10-byte negative value decodes to itself).
    public mutating func readInt32() throws -> Int32 {
        Int32(truncatingIfNeeded: try readVarint())
    }

    public mutating func readInt64() throws -> Int64 {
        Int64(bitPattern: try readVarint())
    }

    /// Keeps the low 32 bits of the varint.
    public mutating func readUInt32() throws -> UInt32 {
        UInt32(truncatingIfNeeded: try readVarint())
    }

    public mutating func readUInt64() throws -> UInt64 {
        try readVarint()
    }

    /// ZigZag over the low 32 bits.
    public mutating func readSInt32() throws -> Int32 {
        ZigZag.decode(UInt32(truncatingIfNeeded: try readVarint()))
    }

    public mutating func readSInt64() throws -> Int64 {
        ZigZag.decode(try readVarint())
    }

    // MARK: Fixed-width fields

    public mutating func readFixed32() throws -> UInt32 {
        try expect(.fixed32)
        return try consumeFixed32()
    }

    public mutating func readFixed64() throws -> UInt64 {
        try expect(.fixed64)
        return try consumeFixed64()
    }

    public mutating func readSFixed32() throws -> Int32 {
        Int32(bitPattern: try readFixed32())
    }

    public mutating func readSFixed64() throws -> Int64 {
        Int64(bitPattern: try readFixed64())
    }

    public mutating func readFloat() throws -> Float {
        Float(bitPattern: try readFixed32())
    }

    public mutating func readDouble() throws -> Double {
        Double(bitPattern: try readFixed64())
    }

    // MARK: Length-delimited fields

    /// Invalid UTF-8 is an error: proto3 strings must be UTF-8 (language guide, "Scalar Value Types").
    public mutating func readString() throws -> String {
        try expect(.lengthDelimited)
        let payload = try consumeLengthDelimited()
        guard let string = String(validating: payload, as: UTF8.self) else {
            throw ProtoWireError.invalidUTF8(field: currentField?.number ?? 0)
        }
        return string
    }

    public mutating func readBytes() throws -> [UInt8] {
        try expect(.lengthDelimited)
        return Array(try consumeLengthDelimited())
    }

    /// Decodes an embedded message.
    public mutating func readMessage<Message: ProtoMessage>(_ type: Message.Type) throws -> Message {
        var message = Message()
        try readMessage(into: &message)
        return message
    }

    /// Merges an embedded message into `message` (encoding spec, "Last One Wins":
    /// a repeated occurrence of a singular message field merges).
    public mutating func readMessage(into message: inout some ProtoMessage) throws {
        var nested = try readNestedReader()
        try message.merge(from: &nested)
    }

    /// The varints of a repeated scalar field, packed (one LEN field) or not (one
    /// VARINT field), both of which parsers must accept (encoding spec, "Packed Repeated Fields").
    public mutating func readPackedVarints() throws -> [UInt64] {
        if currentField?.wireType == .varint {
            return [try readVarint()]
        }
        var nested = try readNestedReader()
        var values: [UInt64] = []
        while !nested.isAtEnd {
            values.append(try nested.consumeVarint())
        }
        return values
    }

    /// A reader over the payload of the current LEN field.
    mutating func readNestedReader() throws -> ProtoReader {
        try expect(.lengthDelimited)
        return ProtoReader(slice: try consumeLengthDelimited(), origin: origin)
    }

    // MARK: Primitives

    private func expect(_ wireType: WireType) throws {
        if let currentField, currentField.wireType != wireType {
            throw ProtoWireError.wrongWireType(field: currentField.number, expected: wireType, actual: currentField.wireType)
        }
    }

    /// Encoding spec, "Base 128 Varints". At most 10 bytes, and the 10th may only
    /// carry bit 63 (value 0 or 1), as protobuf-go's `ConsumeVarint` requires.
    private mutating func consumeVarint() throws -> UInt64 {
        let start = index
        var value: UInt64 = 0
        for position in 0..<Varint.maximumLength {
            guard index < bytes.endIndex else {
                throw ProtoWireError.truncated(offset: start - origin, needed: position + 1, available: position)
            }
            let byte = bytes[index]
            index += 1
            if position == Varint.maximumLength - 1, byte > 1 {
                throw ProtoWireError.varintTooLong(offset: start - origin)
            }
            // position ≤ 9, so the shift is at most 63.
            value |= UInt64(byte & 0x7F) << (7 * UInt64(position))
            if byte < 0x80 { return value }
        }
        // Unreachable: the 10th byte either ended the varint or threw above.
        throw ProtoWireError.varintTooLong(offset: start - origin)
    }

    private mutating func consumeFixed32() throws -> UInt32 {
        var value: UInt32 = 0
        for (position, byte) in try consume(count: 4).enumerated() {
            value |= UInt32(byte) << (8 * position)
        }
        return value
    }

    private mutating func consumeFixed64() throws -> UInt64 {
        var value: UInt64 = 0
        for (position, byte) in try consume(count: 8).enumerated() {
            value |= UInt64(byte) << (8 * position)
        }
        return value
    }

    /// A varint length, then that many bytes, which must all be present.
    private mutating func consumeLengthDelimited() throws -> ArraySlice<UInt8> {
        let length = try consumeVarint()
        guard length <= UInt64(remaining) else {
            throw ProtoWireError.truncated(offset: offset, needed: Int(clamping: length), available: remaining)
        }
        return try consume(count: Int(length))
    }

    private mutating func consume(count: Int) throws -> ArraySlice<UInt8> {
        guard count <= remaining else {
            throw ProtoWireError.truncated(offset: offset, needed: count, available: remaining)
        }
        let end = index + count
        defer { index = end }
        return bytes[index..<end]
    }
}
