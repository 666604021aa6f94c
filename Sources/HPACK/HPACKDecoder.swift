/// Decodes HPACK header blocks (RFC 7541) received on one HTTP/2 connection. One decoder per
/// connection and direction: it holds the dynamic table the peer's encoder refers to.
public struct HPACKDecoder: Sendable {
    private var table: DynamicHeaderTable
    private var advertisedMaxTableSize: Int
    /// Set when we lowered our setting below the table's size: the peer must then start its
    /// next block with a size update (§4.2).
    private var sizeUpdateRequired = false

    /// The largest decoded header list accepted, counted as RFC 9113 §6.5.2.
    public var maxHeaderListSize: Int

    /// maxTableSize: the SETTINGS_HEADER_TABLE_SIZE we advertised (default 4096): the upper bound for size updates the peer's encoder may send.
    /// maxHeaderListSize: limit on the decoded list, counted as RFC 7541 §4.1 / RFC 9113 §6.5.2 (name+value+32 per field); exceeding it throws.
    ///
    /// The dynamic table starts with `maxTableSize` as its size, as if the peer already knew
    /// the setting; a connection that advertises less than the protocol default of 4096
    /// should start at 4096 and lower `maxTableSize` when the peer acknowledges SETTINGS.
    public init(maxTableSize: Int = 4096, maxHeaderListSize: Int = 65536) {
        let size = max(0, maxTableSize)
        self.table = DynamicHeaderTable(capacity: size)
        self.advertisedMaxTableSize = size
        self.maxHeaderListSize = maxHeaderListSize
    }

    /// The SETTINGS_HEADER_TABLE_SIZE we advertise: the upper bound for size updates.
    ///
    /// Set it when the peer acknowledges the SETTINGS frame that changed it. If it drops below
    /// the table's current maximum, the peer's next block must begin with a size update
    /// (§4.2), otherwise decoding throws `missingTableSizeUpdate`.
    public var maxTableSize: Int {
        get { advertisedMaxTableSize }
        set {
            advertisedMaxTableSize = max(0, newValue)
            if advertisedMaxTableSize < table.capacity { sizeUpdateRequired = true }
        }
    }

    /// Current occupied size of the dynamic table in octets (§4.1).
    public var dynamicTableSize: Int { table.size }

    /// The dynamic table's maximum size in force, as last set by the peer's size update.
    public var dynamicTableCapacity: Int { table.capacity }

    /// The dynamic table's entries, newest (index 62) first; for tests and diagnostics.
    public var dynamicTableEntries: [HeaderField] {
        table.entriesNewestFirst.map { HeaderField(name: $0.name, value: $0.value) }
    }

    /// Decodes one complete header block (HEADERS + CONTINUATION fragments already joined by the caller).
    ///
    /// Throws `HPACKError`. After `headerListTooLarge` the table is still in step with the
    /// peer's; after any other error it is not, and the connection must end (RFC 9113 §4.3).
    public mutating func decode(_ block: some Collection<UInt8>) throws -> [HeaderField] {
        try decodeBlock(Array(block))
    }

    private mutating func decodeBlock(_ bytes: [UInt8]) throws(HPACKError) -> [HeaderField] {
        var reader = ByteReader(bytes)
        var fields: [HeaderField] = []
        var listSize = 0
        var atBlockStart = true

        while let first = reader.peek() {
            // §6: the representation is given by the leading bits of its first octet.
            if first & 0b1110_0000 == 0b0010_0000 {
                // §6.3 Dynamic Table Size Update: 001xxxxx, 5-bit prefix.
                guard atBlockStart else { throw .tableSizeUpdateNotAtBlockStart }
                let requested = try IntegerCoding.decode(prefixBits: 5, from: &reader)
                guard requested <= advertisedMaxTableSize else {
                    throw .tableSizeUpdateTooLarge(requested: requested, allowed: advertisedMaxTableSize)
                }
                table.setCapacity(requested)
                sizeUpdateRequired = false
                continue
            }
            if atBlockStart {
                guard !sizeUpdateRequired else { throw .missingTableSizeUpdate(allowed: advertisedMaxTableSize) }
                atBlockStart = false
            }

            let field: DynamicHeaderTable.Entry
            var neverIndexed = false
            if first & 0b1000_0000 != 0 {
                // §6.1 Indexed Header Field: 1xxxxxxx, 7-bit prefix.
                field = try lookUp(try IntegerCoding.decode(prefixBits: 7, from: &reader))
            } else if first & 0b0100_0000 != 0 {
                // §6.2.1 Literal with Incremental Indexing: 01xxxxxx, 6-bit prefix.
                field = try readLiteral(from: &reader, prefixBits: 6)
                table.add(field)
            } else {
                // §6.2.3 Literal Never Indexed: 0001xxxx; §6.2.2 Literal without Indexing:
                // 0000xxxx. Both have a 4-bit prefix.
                neverIndexed = first & 0b0001_0000 != 0
                field = try readLiteral(from: &reader, prefixBits: 4)
            }

            // Past the limit, keep decoding so the table follows the peer's (a too-large list
            // is a stream error, not a connection error), but stop collecting fields.
            listSize = listSize > Int.max - field.size ? Int.max : listSize + field.size
            if listSize <= maxHeaderListSize {
                fields.append(HeaderField(name: field.name, value: field.value, neverIndexed: neverIndexed))
            }
        }

        guard !sizeUpdateRequired else { throw .missingTableSizeUpdate(allowed: advertisedMaxTableSize) }
        guard listSize <= maxHeaderListSize else {
            throw .headerListTooLarge(size: listSize, limit: maxHeaderListSize)
        }
        return fields
    }

    /// The field at an index of the combined static and dynamic index space (§2.3.3).
    private func lookUp(_ index: Int) throws(HPACKError) -> DynamicHeaderTable.Entry {
        if let entry = StaticHeaderTable.entry(at: index) {
            return DynamicHeaderTable.Entry(
                name: entry.name, value: entry.value,
                nameOctets: entry.name.utf8.count, valueOctets: entry.value.utf8.count)
        }
        guard index > StaticHeaderTable.count, let entry = table.entry(at: index - StaticHeaderTable.count) else {
            throw .invalidIndex(index: index, available: StaticHeaderTable.count + table.count)
        }
        return entry
    }

    /// §6.2: a literal field whose name is either indexed (non-zero prefix) or a literal string.
    private func readLiteral(from reader: inout ByteReader, prefixBits: Int) throws(HPACKError) -> DynamicHeaderTable.Entry {
        let nameIndex = try IntegerCoding.decode(prefixBits: prefixBits, from: &reader)
        let name: String
        let nameOctets: Int
        if nameIndex == 0 {
            (name, nameOctets) = try readString(from: &reader)
        } else {
            let indexed = try lookUp(nameIndex)
            (name, nameOctets) = (indexed.name, indexed.nameOctets)
        }
        let (value, valueOctets) = try readString(from: &reader)
        return DynamicHeaderTable.Entry(name: name, value: value, nameOctets: nameOctets, valueOctets: valueOctets)
    }

    /// §5.2 String Literal: H flag and 7-bit length prefix, then the octets. Returns the string
    /// and its length in octets once decoded, which §4.1 sizes count.
    private func readString(from reader: inout ByteReader) throws(HPACKError) -> (String, octets: Int) {
        guard let first = reader.peek() else { throw .truncatedBlock }
        let length = try IntegerCoding.decode(prefixBits: 7, from: &reader)
        let raw = try reader.readBytes(length)
        if first & 0x80 == 0 {
            return (String(decoding: raw, as: UTF8.self), raw.count)
        }
        let decoded = try HuffmanCoding.decode(raw)
        return (String(decoding: decoded, as: UTF8.self), decoded.count)
    }
}
