/// An InfiniBand GUID (EUI-64): a port's or a node's 64-bit identity. ib-sriov-cni and
/// ib-kubernetes write it as eight colon-separated bytes (`02:00:00:00:00:00:00:01`);
/// sysfs prints a node GUID as four groups of four digits (`0002:c903:0042:a4b1`,
/// drivers/infiniband/core/sysfs.c node_guid_show); an IPoIB hardware address carries
/// the port GUID in its last eight bytes. The value is the bytes read big-endian, as
/// the kernel's `struct ifla_vf_guid` takes it.
public struct InfiniBandGUID: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 8, "a GUID has eight bytes")
        rawValue = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses `xx:xx:xx:xx:xx:xx:xx:xx` (ib-sriov-cni's form) or `xxxx:xxxx:xxxx:xxxx`
    /// (sysfs's); hex digits of either case.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let width: Int
        switch parts.count {
        case 8: width = 2
        case 4: width = 4
        default: return nil
        }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == width, part.allSatisfy(\.isHexDigit), let group = UInt64(part, radix: 16) else { return nil }
            value = value << (4 * UInt64(width)) | group
        }
        rawValue = value
    }

    /// The port GUID inside a 20-byte IPoIB hardware address; nil for other addresses.
    public init?(ipoibAddress: [UInt8]) {
        guard ipoibAddress.count == 20 else { return nil }
        self.init(bytes: ipoibAddress[12...])
    }

    public var bytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: rawValue >> (56 - 8 * UInt64($0))) } }

    /// A VF that nobody gave a GUID reads all zeros (network-operator #1825); no
    /// subnet manager accepts it.
    public var isZero: Bool { rawValue == 0 }
    /// All ones: ib-sriov-cni's "no GUID" value, which it writes back on DEL in place of zeros.
    public var isAllOnes: Bool { rawValue == .max }
    /// Usable as a port's identity: neither all zeros nor all ones.
    public var isAssignable: Bool { !isZero && !isAllOnes }

    public static let allOnes = InfiniBandGUID(rawValue: .max)

    /// A GUID for VF `vfIndex` of the PF whose node GUID is `pf`: the same for the same
    /// VF on every call, different for every VF of every PF (a 64-bit FNV-1a hash of
    /// both, with the EUI-64 "locally administered" bit set and the group bit clear, so
    /// that it cannot be mistaken for a vendor-assigned GUID).
    public static func derived(pf: InfiniBandGUID, vfIndex: Int) -> InfiniBandGUID {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in pf.bytes + withUnsafeBytes(of: UInt32(truncatingIfNeeded: vfIndex).bigEndian, Array.init) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        // Byte 0 of an EUI-64: bit 1 (0x02) locally administered, bit 0 (0x01) group.
        let value = hash & ~(UInt64(0x01) << 56) | UInt64(0x02) << 56
        return InfiniBandGUID(rawValue: value)
    }

    /// ib-sriov-cni's form: eight lower-case bytes with colons.
    public var description: String { bytes.map { hex($0, width: 2) }.joined(separator: ":") }
}
