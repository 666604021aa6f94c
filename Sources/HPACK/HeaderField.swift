/// One header field: a name and a value (RFC 7541 §1.3).
public struct HeaderField: Hashable, Sendable {
    /// The field name, as sent on the wire (HTTP/2 requires lower case; HPACK does not check).
    public var name: String
    /// The field value.
    public var value: String
    /// Sensitive: encode (and decoded as) literal never-indexed (RFC 7541 §6.2.3).
    ///
    /// The encoder never adds such a field to the dynamic table nor refers to a table entry
    /// for its value, and intermediaries must forward it in the same form (§7.1.3).
    public var neverIndexed: Bool

    /// Creates a header field.
    public init(name: String, value: String, neverIndexed: Bool = false) {
        self.name = name
        self.value = value
        self.neverIndexed = neverIndexed
    }
}

extension HeaderField: CustomStringConvertible {
    /// `name: value`, with a marker for never-indexed fields.
    public var description: String {
        neverIndexed ? "\(name): \(value) (never indexed)" : "\(name): \(value)"
    }
}

extension HeaderField {
    /// The size of an entry holding this field, in octets (RFC 7541 §4.1): the UTF-8 lengths of
    /// name and value plus 32. HTTP/2's header list size uses the same count (RFC 9113 §6.5.2).
    var octetSize: Int {
        HeaderField.entryOverhead + name.utf8.count + value.utf8.count
    }

    /// RFC 7541 §4.1: "The size of an entry is the sum of its name's length in octets, its
    /// value's length in octets, and 32."
    static let entryOverhead = 32
}
