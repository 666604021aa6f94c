/// A kernel network interface (`/sys/class/net/<name>`).
public struct NetworkInterface: Hashable, Sendable {
    public var name: String
    /// `ifindex`, unique within the interface's network namespace.
    public var index: Int?
    public var mtu: Int?
    public var macAddress: MACAddress?
    /// `operstate`: up, down, unknown, lowerlayerdown, ...
    public var operState: String?
    /// nil when the kernel cannot tell (reading `carrier` of a down link fails).
    public var carrier: Bool?
    /// ARPHRD_* from include/uapi/linux/if_arp.h: 1 Ethernet, 32 InfiniBand, 772 loopback.
    public var linkType: Int?
    /// The PCI function behind the interface, found by walking up its device path;
    /// nil for virtual interfaces.
    public var pciAddress: PCIAddress?

    public var linkTypeName: String {
        switch linkType {
        case 1: "ether"
        case 32: "infiniband"
        case 772: "loopback"
        case let other?: "type \(other)"
        case nil: "unknown"
        }
    }
}
