/// Encodes header blocks (RFC 7541) for one HTTP/2 connection, keeping the dynamic table the
/// peer's decoder mirrors. Like grpc-go: a field found whole in a table is sent indexed; other
/// fields are literals with incremental indexing (when `indexing`), with an indexed name where
/// one matches; strings are Huffman-coded only when that is strictly shorter.
public struct HPACKEncoder: Sendable {
    private var table: DynamicHeaderTable
    /// Our own bound on the table: the initial size, never exceeded whatever the peer allows.
    private let tableSizeLimit: Int
    /// Size updates owed at the start of the next block (§4.2): the smallest size set since
    /// the last block and the latest one.
    private var pendingSizeUpdate: (smallest: Int, final: Int)?

    /// Whether literal strings may be Huffman-coded (§5.2).
    public let useHuffman: Bool
    /// Whether literals are added to the dynamic table (§6.2.1) or sent without indexing
    /// (§6.2.2).
    public let indexing: Bool
    /// Also Huffman-code strings whose code is as long as the raw octets, as the RFC's
    /// Appendix C.6 does ("307"). Off by default: grpc-go codes only when strictly shorter.
    var huffmanWhenEqualLength = false

    /// maxTableSize is the dynamic table size both sides start with (the SETTINGS default is
    /// 4096), and the most the encoder will ever use, whatever the peer later allows.
    public init(maxTableSize: Int = 4096, useHuffman: Bool = true, indexing: Bool = true) {
        let size = max(0, maxTableSize)
        self.table = DynamicHeaderTable(capacity: size)
        self.tableSizeLimit = size
        self.useHuffman = useHuffman
        self.indexing = indexing
    }

    /// Current occupied size of the dynamic table in octets (§4.1).
    public var dynamicTableSize: Int { table.size }

    /// The dynamic table's entries, newest (index 62) first; for tests and diagnostics.
    public var dynamicTableEntries: [HeaderField] {
        table.entriesNewestFirst.map { HeaderField(name: $0.name, value: $0.value) }
    }

    /// Called when the peer's SETTINGS_HEADER_TABLE_SIZE arrives; the encoder emits a dynamic table size update (§6.3) at the start of the next block, and never uses a table bigger than this.
    ///
    /// If the size went down and back up before the next block, both the smallest and the
    /// final size are sent, so the peer evicts what the smaller table would have (§4.2).
    public mutating func setMaxTableSize(_ size: Int) {
        let newSize = min(max(0, size), tableSizeLimit)
        guard let pending = pendingSizeUpdate else {
            if newSize != table.capacity { pendingSizeUpdate = (min(table.capacity, newSize), newSize) }
            return
        }
        pendingSizeUpdate = (min(pending.smallest, newSize), newSize)
    }

    /// Encodes one header block.
    public mutating func encode(_ headers: [HeaderField]) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(headers, into: &buffer)
        return buffer
    }

    /// Encodes one header block, appending it to `buffer`.
    public mutating func encode(_ headers: [HeaderField], into buffer: inout [UInt8]) {
        if let pending = pendingSizeUpdate {
            if pending.smallest < pending.final, pending.smallest < table.capacity {
                writeSizeUpdate(pending.smallest, into: &buffer)
            }
            writeSizeUpdate(pending.final, into: &buffer)
            pendingSizeUpdate = nil
        }
        for field in headers {
            encode(field, into: &buffer)
        }
    }

    /// §6.3 Dynamic Table Size Update: 001xxxxx, 5-bit prefix.
    private mutating func writeSizeUpdate(_ size: Int, into buffer: inout [UInt8]) {
        IntegerCoding.encode(size, prefixBits: 5, flags: 0b0010_0000, into: &buffer)
        table.setCapacity(size)
    }

    private mutating func encode(_ field: HeaderField, into buffer: inout [UInt8]) {
        // A never-indexed field is always a literal, so that it decodes as never-indexed and
        // intermediaries keep it out of their tables (§6.2.3, §7.1.3).
        let staticFullMatch = field.neverIndexed ? nil : StaticHeaderTable.index(name: field.name, value: field.value)
        if let index = staticFullMatch {
            // §6.1 Indexed Header Field: 1xxxxxxx, 7-bit prefix.
            IntegerCoding.encode(index, prefixBits: 7, flags: 0b1000_0000, into: &buffer)
            return
        }
        let dynamicMatch = table.search(name: field.name, value: field.value)
        if !field.neverIndexed, let index = dynamicMatch.fullMatch {
            IntegerCoding.encode(StaticHeaderTable.count + index, prefixBits: 7, flags: 0b1000_0000, into: &buffer)
            return
        }
        let nameIndex = StaticHeaderTable.index(name: field.name)
            ?? dynamicMatch.nameMatch.map { StaticHeaderTable.count + $0 }
            ?? 0

        let entry = DynamicHeaderTable.Entry(
            name: field.name, value: field.value,
            nameOctets: field.name.utf8.count, valueOctets: field.value.utf8.count)
        // Like grpc-go, an entry bigger than the whole table is not indexed: adding it would
        // only empty the table (§4.4).
        let addsToTable = indexing && !field.neverIndexed && entry.size <= table.capacity
        if field.neverIndexed {
            // §6.2.3 Literal Never Indexed: 0001xxxx, 4-bit prefix.
            IntegerCoding.encode(nameIndex, prefixBits: 4, flags: 0b0001_0000, into: &buffer)
        } else if addsToTable {
            // §6.2.1 Literal with Incremental Indexing: 01xxxxxx, 6-bit prefix.
            IntegerCoding.encode(nameIndex, prefixBits: 6, flags: 0b0100_0000, into: &buffer)
        } else {
            // §6.2.2 Literal without Indexing: 0000xxxx, 4-bit prefix.
            IntegerCoding.encode(nameIndex, prefixBits: 4, flags: 0b0000_0000, into: &buffer)
        }
        if nameIndex == 0 { writeString(field.name, into: &buffer) }
        writeString(field.value, into: &buffer)
        if addsToTable { table.add(entry) }
    }

    /// §5.2 String Literal: H flag and 7-bit length prefix, then the octets.
    private func writeString(_ string: String, into buffer: inout [UInt8]) {
        let octets = string.utf8
        if useHuffman {
            let huffmanLength = HuffmanCoding.encodedLength(of: octets)
            if huffmanLength < octets.count || (huffmanWhenEqualLength && huffmanLength == octets.count) {
                IntegerCoding.encode(huffmanLength, prefixBits: 7, flags: 0b1000_0000, into: &buffer)
                HuffmanCoding.encode(octets, into: &buffer)
                return
            }
        }
        IntegerCoding.encode(octets.count, prefixBits: 7, flags: 0, into: &buffer)
        buffer.append(contentsOf: octets)
    }
}
