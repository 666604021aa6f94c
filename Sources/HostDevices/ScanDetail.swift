/// How much of each netdev and RDMA device a scan reads.
public enum ScanDetail: Sendable {
    /// Every attribute: ifindex, MTU, MAC, operstate, carrier, link type and
    /// phys_port_name; RDMA node types (`discover`, the CNI).
    case all
    /// What pools and health checks read: every netdev's link type and
    /// phys_port_name, and operstate and carrier of netdevs that are not a VF's (a
    /// PF's link state is its VFs' health). A VF netdev's ifindex, MTU, MAC and link
    /// state, RDMA devices' node type, and the IOMMU group of a function not bound to
    /// vfio are left nil. The daemon's rescans.
    case forPools
}
