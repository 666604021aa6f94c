import HostDevices

/// What a pool holds.
public enum DeviceType: String, Sendable, CaseIterable {
    /// Network functions (PCI class 0x02), one per allocation: SRIOV-DP's default.
    case netDevice
    /// Accelerators (PCI class 0x12), one per allocation.
    case accelerator
    /// Scalable functions (auxiliary devices such as `mlx5_core.sf.4` below a network
    /// PF), one per allocation: SRIOV-DP's `auxNetDevice`.
    case auxNetDevice
    /// RDMA devices shared by every pod, k8s-rdma-shared-dev-plugin style:
    /// `rdmaHcaMax` identical slots that each give all the pool's RDMA char devices.
    case rdmaShared
}

/// Which devices of the pool a preferred allocation picks first.
public enum AllocationPolicy: String, Sendable {
    /// Spread over PFs, so one PF failure hits few pods.
    case spread
    /// Pack onto as few PFs as possible, keeping whole PFs free.
    case pack
}

/// One `resourceList` entry.
public struct PoolConfig: Equatable, Sendable {
    public var resource: ResourceName
    public var deviceType: DeviceType
    public var excludeTopology = false
    public var selectors: [Selector] = []
    /// `additionalInfo`: `*` for every device, or a PCI address; values land in `..._INFO`.
    public var additionalInfo: [String: [String: String]] = [:]
    /// Slots of a shared RDMA pool.
    public var rdmaHcaMax: Int?
    public var allocationPolicy: AllocationPolicy = .spread

    public var resourceName: String { resource.name }
    public var resourcePrefix: String { resource.prefix }
    /// `<prefix>/<name>`, the extended resource name kubelet sees.
    public var qualifiedName: String { resource.description }

    /// RDMA character devices are handed out with the devices (`isRdma` in SRIOV-DP).
    public var handsOutRDMA: Bool { deviceType == .rdmaShared || selectors.contains { $0.isRdma == true } }
    public var handsOutVhostNet: Bool { selectors.contains { $0.needVhostNet == true } }
    /// Devices are vDPA devices (`vdpaType` in some selector): Allocate hands out the
    /// vhost-vdpa node and the device-info file is of type `vdpa`.
    public var handsOutVDPA: Bool { selectors.contains { $0.vdpaType != nil } }
}

/// The whole configuration file.
public struct PoolsConfig: Equatable, Sendable {
    public var pools: [PoolConfig]
    /// Keys the parse met and ignored, one warning each (empty for a strict parse).
    public var warnings: [ConfigWarning] = []
    public init(pools: [PoolConfig]) { self.pools = pools }

    /// Some selector compares DDP profiles, so scans must read devlink.
    public var readsDevlink: Bool { pools.contains { $0.selectors.contains { $0.ddpProfiles != nil } } }
}

/// One selector object. Values inside one field are OR-ed; fields are AND-ed.
public struct Selector: Equatable, Sendable {
    /// Lower-case 4-digit hex IDs, as sysfs has them without `0x`.
    public var vendors: [String]?
    public var devices: [String]?
    public var drivers: [String]?
    public var pciAddresses: [PCIAddress]?
    public var acpiIndexes: [Int]?
    public var pfNames: [PFNameSelector]?
    /// The PF's PCI address of a VF.
    public var rootDevices: [RootDeviceSelector]?
    public var linkTypes: [String]?
    public var ddpProfiles: [String]?
    /// Compared as 16-bit values with the membership bit, so `0x1` matches the
    /// `0x0001` sysfs prints (SRIOV-DP compares strings, and its README's `0x1` never matches).
    public var pKeys: [PartitionKey]?
    public var isRdma: Bool?
    public var needVhostNet: Bool?
    public var vdpaType: String?
    /// auxNetDevice pools: the auxiliary type, the middle of `mlx5_core.sf.4` (only `sf`).
    public var auxTypes: [String]?
    /// Shared RDMA pools: netdev names and RDMA device names.
    public var ifNames: [String]?
    public var rdmaDevices: [String]?

    public init() {}
}
