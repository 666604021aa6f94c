/// A 128-bit RDMA global identifier. For RoCE it is an IPv6 address; RoCE v2 over
/// IPv4 uses the IPv4-mapped form ::ffff:a.b.c.d (IBTA RoCEv2 annex A17.4.5.2).
public struct GID: Sendable, Hashable, CustomStringConvertible {
    /// Network byte order, always 16 bytes.
    public let bytes: [UInt8]

    public static let zero = GID(validatedBytes: [UInt8](repeating: 0, count: 16))

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    private init(validatedBytes: [UInt8]) { self.bytes = validatedBytes }

    /// Parses the sysfs form: eight groups of four hex digits, `fe80:0000:...`.
    public init?(sysfsText text: String) {
        let groups = text.split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count == 8 else { return nil }
        var bytes: [UInt8] = []
        for group in groups {
            guard group.count == 4, let value = UInt16(group, radix: 16) else { return nil }
            bytes.append(UInt8(value >> 8))
            bytes.append(UInt8(value & 0xff))
        }
        self.bytes = bytes
    }

    public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    /// The IPv4 address of an IPv4-mapped GID (::ffff:a.b.c.d), in network order.
    public var ipv4Address: [UInt8]? {
        guard bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return nil }
        return Array(bytes[12..<16])
    }

    /// `a.b.c.d` for an IPv4-mapped GID.
    public var ipv4Text: String? {
        ipv4Address.map { $0.map(String.init).joined(separator: ".") }
    }

    /// The sysfs form (`0000:0000:0000:0000:0000:ffff:0a38:0001`).
    public var description: String {
        stride(from: 0, to: 16, by: 2).map { index in
            let value = UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 4 - hex.count) + hex
        }.joined(separator: ":")
    }
}
