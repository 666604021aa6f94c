/// Octets from hex digits, ignoring spaces and line breaks, as RFCs and protobuf dumps
/// print them ("0a 07 76"). A bad digit is a typo in the test itself, so it traps.
public func hex(_ text: String) -> [UInt8] {
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
