/// An RDMA device (`/sys/class/infiniband/<name>`): a ConnectX or E810 function,
/// or a soft-RoCE (rxe) device layered on a netdev, which has no PCI parent.
public struct RDMADevice: Hashable, Sendable {
    public var name: String
    public var pciAddress: PCIAddress?
    /// Netdevs the device's ports are bound to (`ports/N/gid_attrs/ndevs/*`).
    public var netdevs: [String]
    /// `node_type`, e.g. "1: CA".
    public var nodeType: String?

    public init(name: String, pciAddress: PCIAddress?, netdevs: [String], nodeType: String?) {
        self.name = name
        self.pciAddress = pciAddress
        self.netdevs = netdevs
        self.nodeType = nodeType
    }
}
