import HPACK

/// Octets from hex digits, ignoring spaces and line breaks, as the RFC prints them. A bad
/// digit is a typo in the test itself, so it traps.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        guard let byte = UInt8(digits[index..<next], radix: 16) else {
            preconditionFailure("bad hex \(digits[index..<next])")
        }
        bytes.append(byte)
        index = next
    }
    return bytes
}

/// `HeaderField`s from (name, value) pairs.
func fields(_ pairs: KeyValuePairs<String, String>) -> [HeaderField] {
    pairs.map { HeaderField(name: $0.key, value: $0.value) }
}

/// The bytes of ASCII text.
func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }
