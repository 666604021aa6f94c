/// One PCI function as sysfs shows it.
public struct PCIDevice: Hashable, Sendable {
    public var address: PCIAddress
    public var vendorID: UInt16
    public var deviceID: UInt16
    public var subsystemVendorID: UInt16?
    public var subsystemDeviceID: UInt16?
    /// The 24-bit class code (base class, subclass, programming interface).
    public var classCode: UInt32
    /// The bound driver (`igb`, `igbvf`, `vfio-pci`), nil when unbound.
    public var driver: String?
    /// The NUMA node, nil where the platform reports none (-1).
    public var numaNode: Int?
    public var iommuGroup: Int?
    /// `acpi_index`: the firmware's index of an onboard device, 0 or nil if none.
    public var acpiIndex: Int?
    /// `/dev/uioN` names of a device bound to uio or igb_uio.
    public var uioDevices: [String] = []
    /// Auxiliary devices (`mlx5_core.sf.4`) below this function.
    public var auxiliaryDevices: [String] = []
    /// Present on a physical function that can create VFs.
    public var sriov: SRIOVCapability?
    /// Present on a virtual function: its PF and its index among that PF's VFs.
    public var virtualFunctionOf: (pf: PCIAddress, index: Int)? {
        pfAddress.flatMap { pf in vfIndex.map { (pf, $0) } }
    }
    /// A VF's PF (`physfn`).
    public internal(set) var pfAddress: PCIAddress?
    /// A VF's index among its PF's VFs (the N of the PF's `virtfnN` link).
    public internal(set) var vfIndex: Int?
    /// Names from pci.ids, when the file is installed.
    public var names: PCIDeviceNames?

    public var isVirtualFunction: Bool { pfAddress != nil }
    public var isPhysicalFunction: Bool { sriov != nil }
    /// PCI base class 0x02: network controller.
    public var isNetworkController: Bool { classCode >> 16 == 0x02 }
}

/// The SR-IOV state of a physical function.
public struct SRIOVCapability: Hashable, Sendable {
    /// `sriov_totalvfs`: how many VFs the device can have.
    public var totalVFs: Int
    /// `sriov_numvfs`: how many are enabled now.
    public var enabledVFs: Int
    /// VF index → VF address: from the routing IDs, or from the PF's `virtfnN` links.
    public var virtualFunctions: [Int: PCIAddress]
    /// `sriov_offset` and `sriov_stride` (Linux 4.17 and later): VF N's routing ID is
    /// the PF's plus offset + N × stride, as the kernel computes it (pci_iov_virtfn_bus
    /// and _devfn).
    public var firstVFOffset: Int?
    public var vfStride: Int?
    /// Where `virtualFunctions` came from.
    public var source: VFListSource

    public init(totalVFs: Int, enabledVFs: Int, virtualFunctions: [Int: PCIAddress], firstVFOffset: Int? = nil, vfStride: Int? = nil,
                source: VFListSource = .virtfnLinks) {
        self.totalVFs = totalVFs
        self.enabledVFs = enabledVFs
        self.virtualFunctions = virtualFunctions
        self.firstVFOffset = firstVFOffset
        self.vfStride = vfStride
        self.source = source
    }
}

/// How a PF's VF list was found.
public enum VFListSource: String, Hashable, Sendable {
    /// Computed from `sriov_offset` and `sriov_stride`, with no link read; each VF
    /// found on the bus pointing back at the PF (`physfn`) is checked against it.
    case routingIDs
    /// Read from the PF's `virtfnN` links: a kernel without the offset and stride
    /// attributes, or a VF that did not sit where the arithmetic put it.
    case virtfnLinks
}
