import ProtoWire

/// A test message with one field of every scalar kind the writer and reader support.
struct ScalarProbe: Equatable, ProtoMessage {
    var bool = false
    var int32: Int32 = 0
    var int64: Int64 = 0
    var uint32: UInt32 = 0
    var uint64: UInt64 = 0
    var sint32: Int32 = 0
    var sint64: Int64 = 0
    var fixed32: UInt32 = 0
    var fixed64: UInt64 = 0
    var sfixed32: Int32 = 0
    var sfixed64: Int64 = 0
    var float: Float = 0
    var double: Double = 0
    var string = ""
    var bytes: [UInt8] = []
    var strings: [String] = []
    var map: [String: String] = [:]
    var nested: [ScalarProbe] = []

    func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, bool: bool)
        writer.write(field: 2, int32: int32)
        writer.write(field: 3, int64: int64)
        writer.write(field: 4, uint32: uint32)
        writer.write(field: 5, uint64: uint64)
        writer.write(field: 6, sint32: sint32)
        writer.write(field: 7, sint64: sint64)
        writer.write(field: 8, fixed32: fixed32)
        writer.write(field: 9, fixed64: fixed64)
        writer.write(field: 10, sfixed32: sfixed32)
        writer.write(field: 11, sfixed64: sfixed64)
        writer.write(field: 12, float: float)
        writer.write(field: 13, double: double)
        writer.write(field: 14, string: string)
        writer.write(field: 15, bytes: bytes)
        writer.write(field: 16, repeatedString: strings)
        writer.write(field: 17, map: map)
        writer.write(field: 18, repeatedMessage: nested)
    }

    mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .varint): bool = try reader.readBool()
        case (2, .varint): int32 = try reader.readInt32()
        case (3, .varint): int64 = try reader.readInt64()
        case (4, .varint): uint32 = try reader.readUInt32()
        case (5, .varint): uint64 = try reader.readUInt64()
        case (6, .varint): sint32 = try reader.readSInt32()
        case (7, .varint): sint64 = try reader.readSInt64()
        case (8, .fixed32): fixed32 = try reader.readFixed32()
        case (9, .fixed64): fixed64 = try reader.readFixed64()
        case (10, .fixed32): sfixed32 = try reader.readSFixed32()
        case (11, .fixed64): sfixed64 = try reader.readSFixed64()
        case (12, .fixed32): float = try reader.readFloat()
        case (13, .fixed64): double = try reader.readDouble()
        case (14, .lengthDelimited): string = try reader.readString()
        case (15, .lengthDelimited): bytes = try reader.readBytes()
        case (16, .lengthDelimited): strings.append(try reader.readString())
        case (17, .lengthDelimited): try reader.readMapEntry(into: &map)
        case (18, .lengthDelimited): nested.append(try reader.readMessage(ScalarProbe.self))
        default: try reader.skipField(wireType)
        }
    }
}
