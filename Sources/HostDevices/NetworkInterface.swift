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
    /// The PCI function behind the interface: its device itself, or the PCI parent of
    /// a virtio bus device; nil for virtual interfaces and for auxiliary (SF) devices,
    /// whose netdevs must not pass for their PF's (SRIOV-DP #645).
    public var pciAddress: PCIAddress?
    /// The auxiliary device (`mlx5_core.sf.4`) a scalable-function netdev belongs to.
    public var auxiliaryDevice: String?
    /// `phys_port_name`: `p0` on an uplink, `pf0vf3` on a VF representor.
    public var physPortName: String?

    /// A switchdev representor (`pf0vf3`, `pf0sf4`, `c1pf0vf3`) rather than a port of its own.
    public var isRepresentor: Bool {
        guard let name = physPortName else { return false }
        return name.containsBytes("vf") || name.containsBytes("sf")
    }

    public init(name: String, index: Int? = nil, mtu: Int? = nil, macAddress: MACAddress? = nil, operState: String? = nil,
                carrier: Bool? = nil, linkType: Int? = nil, pciAddress: PCIAddress? = nil, auxiliaryDevice: String? = nil,
                physPortName: String? = nil) {
        self.name = name
        self.index = index
        self.mtu = mtu
        self.macAddress = macAddress
        self.operState = operState
        self.carrier = carrier
        self.linkType = linkType
        self.pciAddress = pciAddress
        self.auxiliaryDevice = auxiliaryDevice
        self.physPortName = physPortName
    }

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
