/// Character devices under the device root that pools hand to containers.
public struct DeviceNodes: Hashable, Sendable {
    /// `/dev/vfio/vfio`, the VFIO container device, if present.
    public var vfioContainer: String?
    /// IOMMU group → its device node: `/dev/vfio/N`, or `/dev/vfio/noiommu-N` in a VM
    /// without an IOMMU.
    public var vfioGroups: [Int: String] = [:]
    public var vhostNet: String?
    public var tun: String?
    /// `/dev/infiniband/rdma_cm`, shared by every RDMA device.
    public var rdmaCM: String?

    public init() {}

    static func scan(devRoot: String) -> DeviceNodes {
        let dev = SysfsReader(root: devRoot)
        var nodes = DeviceNodes()
        if dev.exists("vfio/vfio") { nodes.vfioContainer = dev.path("vfio/vfio") }
        for entry in dev.entries("vfio") {
            if let group = Int(entry) {
                nodes.vfioGroups[group] = dev.path("vfio/\(entry)")
            } else if entry.hasPrefix("noiommu-"), let group = Int(entry.dropFirst("noiommu-".count)) {
                nodes.vfioGroups[group] = dev.path("vfio/\(entry)")
            }
        }
        if dev.exists("vhost-net") { nodes.vhostNet = dev.path("vhost-net") }
        if dev.exists("net/tun") { nodes.tun = dev.path("net/tun") }
        if dev.exists("infiniband/rdma_cm") { nodes.rdmaCM = dev.path("infiniband/rdma_cm") }
        return nodes
    }
}
