/// Bytes from hex text such as "0a 07 76"; spaces are ignored. Test-only input, so a
/// malformed literal is a test bug and yields an empty array that fails the assertion.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }.utf8.map { $0 }
    guard digits.count.isMultiple(of: 2) else { return [] }
    var bytes: [UInt8] = []
    for index in stride(from: 0, to: digits.count, by: 2) {
        guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return [] }
        bytes.append(byte)
    }
    return bytes
}
