/// An immutable picture of the node's PCI devices, network interfaces and RDMA
/// devices, taken in one pass. Rescans take a new snapshot and compare.
public struct HostSnapshot: Sendable {
    public let pciDevices: [PCIDevice]
    public let networkInterfaces: [NetworkInterface]
    public let rdmaDevices: [RDMADevice]
    /// Whether the kernel exposes the RDMA class at all (`<sysRoot>/class/infiniband`).
    public let kernelHasRDMAClass: Bool
    /// vfio, vhost-net, tun and rdma_cm nodes under the device root.
    public let deviceNodes: DeviceNodes
    public let roots: HostRoots
    /// devlink device info, when a scan was given a `FirmwareQuery`.
    public let firmware: FirmwareReading
    /// Devices on the vDPA bus, by name.
    public let vdpaDevices: [VDPADevice]
    /// Auxiliary devices below PCI functions (scalable functions), by parent and name.
    public let auxiliaryDevices: [AuxiliaryDevice]
    /// Reads that failed for want of a resource (EMFILE, ENOMEM, EIO ...): a snapshot
    /// with a fault is not the node, and must not replace a good one.
    public internal(set) var fault: ScanFault?

    // Look-ups by PCI address, built once: pools ask for every device's netdevs
    // and RDMA devices, which would otherwise be quadratic in the number of VFs.
    private let deviceIndex: [PCIAddress: Int]
    private let interfacesByAddress: [PCIAddress: [Int]]
    private let rdmaByAddress: [PCIAddress: [Int]]
    private let softRDMAByNetdev: [String: [Int]]
    private let firmwareByAddress: [PCIAddress: DeviceFirmware]
    private let vdpaByAddress: [PCIAddress: [Int]]
    private let interfacesByAuxiliary: [String: [Int]]
    private let rdmaByAuxiliary: [String: [Int]]
    private let auxiliaryByName: [String: Int]

    /// A node with nothing on it: what a consumer holds before the first scan.
    public static func empty(roots: HostRoots = HostRoots()) -> HostSnapshot {
        HostSnapshot(pciDevices: [], networkInterfaces: [], rdmaDevices: [], kernelHasRDMAClass: false,
                     deviceNodes: DeviceNodes(), roots: roots)
    }

    init(pciDevices: [PCIDevice], networkInterfaces: [NetworkInterface], rdmaDevices: [RDMADevice],
         kernelHasRDMAClass: Bool, deviceNodes: DeviceNodes, roots: HostRoots, firmware: FirmwareReading = .notRead,
         vdpaDevices: [VDPADevice] = [], auxiliaryDevices: [AuxiliaryDevice] = []) {
        self.pciDevices = pciDevices
        self.networkInterfaces = networkInterfaces
        self.rdmaDevices = rdmaDevices
        self.kernelHasRDMAClass = kernelHasRDMAClass
        self.deviceNodes = deviceNodes
        self.roots = roots
        self.firmware = firmware
        var firmwareByAddress: [PCIAddress: DeviceFirmware] = [:]
        if case .read(let devices) = firmware {
            for device in devices { if let address = device.pciAddress { firmwareByAddress[address] = device } }
        }
        self.firmwareByAddress = firmwareByAddress
        self.vdpaDevices = vdpaDevices
        var vdpaByAddress: [PCIAddress: [Int]] = [:]
        for (position, device) in vdpaDevices.enumerated() {
            if let address = device.parentAddress { vdpaByAddress[address, default: []].append(position) }
        }
        self.vdpaByAddress = vdpaByAddress
        self.auxiliaryDevices = auxiliaryDevices
        var interfacesByAuxiliary: [String: [Int]] = [:]
        for (position, iface) in networkInterfaces.enumerated() {
            if let name = iface.auxiliaryDevice { interfacesByAuxiliary[name, default: []].append(position) }
        }
        self.interfacesByAuxiliary = interfacesByAuxiliary
        var rdmaByAuxiliary: [String: [Int]] = [:]
        for (position, device) in rdmaDevices.enumerated() {
            if let name = device.auxiliaryDevice { rdmaByAuxiliary[name, default: []].append(position) }
        }
        self.rdmaByAuxiliary = rdmaByAuxiliary
        var auxiliaryByName: [String: Int] = [:]
        for (position, device) in auxiliaryDevices.enumerated() { auxiliaryByName[device.name] = position }
        self.auxiliaryByName = auxiliaryByName
        var deviceIndex: [PCIAddress: Int] = [:]
        for (position, device) in pciDevices.enumerated() { deviceIndex[device.address] = position }
        var interfacesByAddress: [PCIAddress: [Int]] = [:]
        for (position, iface) in networkInterfaces.enumerated() {
            if let address = iface.pciAddress { interfacesByAddress[address, default: []].append(position) }
        }
        var rdmaByAddress: [PCIAddress: [Int]] = [:]
        var softRDMAByNetdev: [String: [Int]] = [:]
        for (position, device) in rdmaDevices.enumerated() {
            if let address = device.pciAddress {
                rdmaByAddress[address, default: []].append(position)
            } else {
                for netdev in device.netdevs { softRDMAByNetdev[netdev, default: []].append(position) }
            }
        }
        self.deviceIndex = deviceIndex
        self.interfacesByAddress = interfacesByAddress
        self.rdmaByAddress = rdmaByAddress
        self.softRDMAByNetdev = softRDMAByNetdev
    }

    public var physicalFunctions: [PCIDevice] { pciDevices.filter(\.isPhysicalFunction) }
    public var virtualFunctions: [PCIDevice] { pciDevices.filter(\.isVirtualFunction) }

    public func device(at address: PCIAddress) -> PCIDevice? {
        deviceIndex[address].map { pciDevices[$0] }
    }

    public func interfaces(of address: PCIAddress) -> [NetworkInterface] {
        (interfacesByAddress[address] ?? []).map { networkInterfaces[$0] }
    }

    /// The devlink info of a PCI function, when it has a devlink instance (a PF
    /// usually; VFs rarely) and the scan read devlink.
    public func firmware(of address: PCIAddress) -> DeviceFirmware? { firmwareByAddress[address] }

    /// The netdevs of an auxiliary device (a scalable function's), by name.
    public func interfaces(ofAuxiliary name: String) -> [NetworkInterface] {
        (interfacesByAuxiliary[name] ?? []).map { networkInterfaces[$0] }
    }

    /// The RDMA devices whose parent is an auxiliary device (a scalable function's).
    public func rdmaDevices(ofAuxiliary name: String) -> [RDMADevice] {
        (rdmaByAuxiliary[name] ?? []).map { rdmaDevices[$0] }
    }

    public func auxiliaryDevice(named name: String) -> AuxiliaryDevice? {
        auxiliaryByName[name].map { auxiliaryDevices[$0] }
    }

    /// The vDPA devices created on a function, by name.
    public func vdpaDevices(of address: PCIAddress) -> [VDPADevice] {
        (vdpaByAddress[address] ?? []).map { vdpaDevices[$0] }
    }

    /// The netdev that names a PF: its own port, never a switchdev representor or a
    /// scalable function's netdev listed beside it (SRIOV-DP #383, #645).
    public func pfName(of pf: PCIAddress) -> String? { pfInterface(of: pf)?.name }

    /// The PF's own netdev (`pfName`'s), whose link state is its VFs' and SFs' health.
    public func pfInterface(of pf: PCIAddress) -> NetworkInterface? {
        interfaces(of: pf).filter { !$0.isRepresentor }.min { $0.name < $1.name }
    }

    /// The auxiliary devices that are scalable functions: those with an `sfnum`.
    public var scalableFunctions: [AuxiliaryDevice] { auxiliaryDevices.filter { $0.sfNumber != nil } }

    /// A network function bound to a kernel network driver with no netdev here. sysfs
    /// lists only this network namespace's netdevs (the VF's `net/` stays, empty), so
    /// this is a VF whose netdev a CNI moved into a pod, or a driver that made none.
    /// Unbound functions and those on vfio or uio have no netdev by design.
    public func netdevNotVisible(_ device: PCIDevice) -> Bool {
        guard device.isNetworkController, let driver = device.driver,
              !driver.containsBytes("vfio"), !driver.containsBytes("uio"), driver != "pci-stub" else { return false }
        return interfaces(of: device.address).isEmpty
    }

    /// RDMA devices of a PCI function: those below it, and soft-RoCE devices bound to
    /// one of its netdevs.
    public func rdmaDevices(of address: PCIAddress) -> [RDMADevice] {
        var positions = rdmaByAddress[address] ?? []
        for iface in interfaces(of: address) { positions += softRDMAByNetdev[iface.name] ?? [] }
        // In the class directory's (name) order, each once.
        return Set(positions).sorted().map { rdmaDevices[$0] }
    }
}
