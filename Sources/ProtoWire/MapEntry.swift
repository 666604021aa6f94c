/// `map<string, string>` fields. On the wire a map is a repeated embedded message,
/// one per entry, with the key in field 1 and the value in field 2 (encoding spec,
/// "Maps"; language guide "Backwards compatibility" for maps).
extension ProtoWriter {
    static let mapKeyField = 1
    static let mapValueField = 2

    /// One entry message per key, sorted by the keys' UTF-8 bytes so output is
    /// deterministic and equals protobuf-go's and upb's deterministic mode. Key and
    /// value are both written even when empty, as protobuf-go, C++ and upb do.
    public mutating func write(field: Int, map: [String: String]) {
        let keys = map.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for key in keys {
            let value = map[key] ?? ""
            var entry = ProtoWriter()
            entry.writeTag(field: Self.mapKeyField, wireType: .lengthDelimited)
            entry.writeLengthDelimited(key.utf8)
            entry.writeTag(field: Self.mapValueField, wireType: .lengthDelimited)
            entry.writeLengthDelimited(value.utf8)
            writeTag(field: field, wireType: .lengthDelimited)
            writeLengthDelimited(entry.bytes)
        }
    }
}

extension ProtoReader {
    /// Reads one `map<string, string>` entry message. A missing key or value is "",
    /// fields may come in any order (the last occurrence wins), and unknown fields
    /// inside the entry are skipped.
    public mutating func readMapEntry() throws -> (key: String, value: String) {
        var entry = try readNestedReader()
        var key = ""
        var value = ""
        while let field = try entry.nextField() {
            switch (field.number, field.wireType) {
            case (ProtoWriter.mapKeyField, .lengthDelimited): key = try entry.readString()
            case (ProtoWriter.mapValueField, .lengthDelimited): value = try entry.readString()
            default: try entry.skipField(field.wireType)
            }
        }
        return (key, value)
    }

    /// Reads one entry and stores it in `map`; a repeated key replaces the earlier value
    /// (encoding spec, "Maps": the last key seen is used).
    public mutating func readMapEntry(into map: inout [String: String]) throws {
        let entry = try readMapEntry()
        map[entry.key] = entry.value
    }
}
