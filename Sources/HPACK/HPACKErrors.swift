/// A header block that cannot be decoded. Apart from `headerListTooLarge`, each is a
/// COMPRESSION_ERROR connection error in HTTP/2 (RFC 9113 §4.3): the dynamic table is no longer
/// known to match the peer's.
public enum HPACKError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An indexed field or indexed name refers to index 0 or past the end of the static plus
    /// dynamic table (RFC 7541 §2.3.3, §6.1). `available` is the highest valid index.
    case invalidIndex(index: Int, available: Int)
    /// An integer does not fit in 31 bits or uses more continuation octets than such a value
    /// needs (RFC 7541 §5.1, §7.4: implementations must guard against overflow).
    case integerOverflow
    /// The block ends inside a representation: an integer, a string length or a string.
    case truncatedBlock
    /// A Huffman-coded string contains the EOS symbol, ends with more than 7 bits of padding,
    /// or its padding is not the most significant bits of EOS, i.e. all ones (RFC 7541 §5.2).
    case invalidHuffmanCode
    /// A dynamic table size update asks for more than the SETTINGS_HEADER_TABLE_SIZE we
    /// advertised (RFC 7541 §6.3).
    case tableSizeUpdateTooLarge(requested: Int, allowed: Int)
    /// A dynamic table size update follows a header field representation (RFC 7541 §4.2).
    case tableSizeUpdateNotAtBlockStart
    /// We lowered our advertised table size below the table's current size and the next block
    /// did not begin with a dynamic table size update (RFC 7541 §4.2). `allowed` is our setting.
    case missingTableSizeUpdate(allowed: Int)
    /// The decoded header list is larger than the limit, counted as RFC 9113 §6.5.2. The whole
    /// block was still processed, so the dynamic table stays in step with the peer's and the
    /// connection can continue; in HTTP/2 this is a stream error (HTTP 431).
    case headerListTooLarge(size: Int, limit: Int)

    /// What went wrong, with the offending value.
    public var description: String {
        switch self {
        case let .invalidIndex(index, available):
            return "HPACK: header table index \(index) is out of range 1...\(available)"
        case .integerOverflow:
            return "HPACK: integer does not fit in 31 bits"
        case .truncatedBlock:
            return "HPACK: header block ends inside a representation"
        case .invalidHuffmanCode:
            return "HPACK: invalid Huffman-coded string (EOS symbol, or padding longer than 7 bits or not all ones)"
        case let .tableSizeUpdateTooLarge(requested, allowed):
            return "HPACK: dynamic table size update to \(requested) exceeds the advertised maximum \(allowed)"
        case .tableSizeUpdateNotAtBlockStart:
            return "HPACK: dynamic table size update after a header field"
        case let .missingTableSizeUpdate(allowed):
            return "HPACK: header block does not start with the dynamic table size update required after lowering the maximum to \(allowed)"
        case let .headerListTooLarge(size, limit):
            return "HPACK: decoded header list of \(size) octets exceeds the limit of \(limit)"
        }
    }
}
