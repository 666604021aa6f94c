/// A hardware address as the kernel prints it in sysfs: colon-separated hex bytes
/// (6 for Ethernet, 20 for IPoIB).
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init?(_ text: some StringProtocol) {
        var bytes: [UInt8] = []
        for part in text.split(separator: ":", omittingEmptySubsequences: false) {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        guard !bytes.isEmpty else { return nil }
        self.bytes = bytes
    }

    public var description: String { bytes.map { hex($0, width: 2) }.joined(separator: ":") }
}
