import HostDevices

/// A pool as kubelet sees it: a resource name and the devices it offers.
public struct ResourcePool: Equatable, Sendable {
    public var config: PoolConfig
    /// Exclusive pools: one device per PCI function. Shared RDMA pools: `rdmaHcaMax`
    /// slots named "0"..."N-1".
    public var devices: [PoolDevice]
    /// Shared RDMA pools: the RDMA devices every slot hands out.
    public var sharedRDMADevices: [RDMADevice]

    public var qualifiedName: String { config.qualifiedName }

    public func device(_ id: String) -> PoolDevice? { devices.first { $0.id == id } }
}

/// One allocatable device of a pool.
public struct PoolDevice: Equatable, Sendable {
    /// The ID kubelet sees: the PCI address, or a shared slot number.
    public var id: String
    public var pciAddress: PCIAddress?
    /// NUMA node for kubelet's topology manager; nil with `excludeTopology` or when unknown.
    public var numaNode: Int?
    public var pfAddress: PCIAddress?
    public var driver: String?
    /// The VF's netdev and RDMA devices at discovery time.
    public var netdevs: [String]
    public var rdmaDevices: [String]
    /// A scalable function (auxNetDevice pools): its auxiliary device, also the `id`.
    public var auxiliaryDevice: String? = nil
}

/// A device of the right class that no pool took, and why.
public struct ExcludedDevice: Equatable, Sendable {
    /// The function, or a scalable function's parent PF.
    public var address: PCIAddress
    /// A scalable function an auxNetDevice pool passed over.
    public var auxiliaryDevice: String? = nil
    /// One line per pool that considered it.
    public var reasons: [String]
}
