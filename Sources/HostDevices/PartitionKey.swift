/// An InfiniBand partition key (P_Key): 15 bits of partition and, in the top bit,
/// full (1) or limited (0) membership (IBA vol. 1 §10.9.1). sysfs prints it as
/// `0x%04x` (drivers/infiniband/core/sysfs.c show_port_pkey), so the default
/// partition with full membership reads `0xffff`.
public struct PartitionKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Parses `0xffff`, `0x1`, `7FFF`: hexadecimal, `0x` optional, at most four digits.
    public init?(_ text: some StringProtocol) {
        var digits = Substring(text)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy(\.isHexDigit),
              let value = UInt16(digits, radix: 16) else { return nil }
        rawValue = value
    }

    /// The low 15 bits; 0 is no partition (an unused table slot reads `0x0000`).
    public var partition: UInt16 { rawValue & 0x7fff }
    public var isFullMember: Bool { rawValue & 0x8000 != 0 }

    /// As sysfs prints it.
    public var description: String {
        let digits = String(rawValue, radix: 16)
        return "0x" + String(repeating: "0", count: 4 - digits.count) + digits
    }

    public static func < (lhs: PartitionKey, rhs: PartitionKey) -> Bool { lhs.rawValue < rhs.rawValue }
}
