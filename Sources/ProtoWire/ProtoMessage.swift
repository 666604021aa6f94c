/// A protobuf message with a hand-written encoding.
///
/// A conforming type writes its set fields in field-number order in `encode(to:)`
/// and reads one field at a time in `decodeField(number:wireType:from:)`; the
/// protocol supplies the rest. Decoding follows proto3 merge semantics
/// (encoding spec, "Last One Wins"): a repeated scalar field or a later occurrence
/// of a singular scalar overwrites, a repeated field appends, an embedded message
/// merges.
public protocol ProtoMessage: Sendable {
    /// The message with every field at its default.
    init()

    /// Decodes from the serialized bytes; unknown fields of every wire type are
    /// skipped (groups are rejected). Throws `ProtoWireError`.
    init(serializedBytes: some Collection<UInt8>) throws

    /// The encoding: set fields in field-number order, defaults omitted.
    func serializedBytes() -> [UInt8]

    /// Appends the encoding to `writer` (used for nesting).
    func encode(to writer: inout ProtoWriter)

    /// Decodes the value of one field whose tag `reader` has just read, merging it
    /// into `self`. Fields the message does not know, or known fields with an
    /// unexpected wire type, must be skipped with `reader.skipField(wireType)`, as
    /// protobuf-go and C++ treat them as unknown.
    mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws
}

extension ProtoMessage {
    public init(serializedBytes: some Collection<UInt8>) throws {
        self.init()
        var reader = ProtoReader(serializedBytes)
        try merge(from: &reader)
    }

    public func serializedBytes() -> [UInt8] {
        var writer = ProtoWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes every remaining field of `reader` into `self`.
    public mutating func merge(from reader: inout ProtoReader) throws {
        while let field = try reader.nextField() {
            try decodeField(number: field.number, wireType: field.wireType, from: &reader)
        }
    }
}
