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
    /// VF index → VF address, from the PF's `virtfnN` links.
    public var virtualFunctions: [Int: PCIAddress]

    public init(totalVFs: Int, enabledVFs: Int, virtualFunctions: [Int: PCIAddress]) {
        self.totalVFs = totalVFs
        self.enabledVFs = enabledVFs
        self.virtualFunctions = virtualFunctions
    }
}
