/// Where discovery reads from. Production uses `/sys` and `/dev`; tests point both
/// at fixture trees.
public struct HostRoots: Sendable {
    public var sysRoot: String
    public var devRoot: String

    public init(sysRoot: String = "/sys", devRoot: String = "/dev") {
        self.sysRoot = sysRoot
        self.devRoot = devRoot
    }
}

/// An immutable picture of the node's PCI devices, network interfaces and RDMA
/// devices, taken in one pass. Rescans take a new snapshot and compare.
public struct HostSnapshot: Sendable {
    public var pciDevices: [PCIDevice]
    public var networkInterfaces: [NetworkInterface]
    public var rdmaDevices: [RDMADevice]
    /// Whether the kernel exposes the RDMA class at all (`<sysRoot>/class/infiniband`).
    public var kernelHasRDMAClass: Bool
    /// vfio, vhost-net, tun and rdma_cm nodes under the device root.
    public var deviceNodes: DeviceNodes
    public var roots: HostRoots

    public var physicalFunctions: [PCIDevice] { pciDevices.filter(\.isPhysicalFunction) }
    public var virtualFunctions: [PCIDevice] { pciDevices.filter(\.isVirtualFunction) }

    public func device(at address: PCIAddress) -> PCIDevice? {
        pciDevices.first { $0.address == address }
    }

    public func interfaces(of address: PCIAddress) -> [NetworkInterface] {
        networkInterfaces.filter { $0.pciAddress == address }
    }

    /// The netdev that names a PF: its own port, never a switchdev representor or a
    /// scalable function's netdev listed beside it (SRIOV-DP #383, #645).
    public func pfName(of pf: PCIAddress) -> String? {
        interfaces(of: pf).filter { !$0.isRepresentor }.map(\.name).sorted().first
    }

    /// A network function bound to a kernel network driver with no netdev here. sysfs
    /// lists only this network namespace's netdevs (the VF's `net/` stays, empty), so
    /// this is a VF whose netdev a CNI moved into a pod, or a driver that made none.
    /// Unbound functions and those on vfio or uio have no netdev by design.
    public func netdevNotVisible(_ device: PCIDevice) -> Bool {
        guard device.isNetworkController, let driver = device.driver,
              !driver.contains("vfio"), !driver.contains("uio"), driver != "pci-stub" else { return false }
        return interfaces(of: device.address).isEmpty
    }

    /// RDMA devices of a PCI function: those below it, and soft-RoCE devices bound to
    /// one of its netdevs.
    public func rdmaDevices(of address: PCIAddress) -> [RDMADevice] {
        let netdevs = Set(interfaces(of: address).map(\.name))
        return rdmaDevices.filter { $0.pciAddress == address || ($0.pciAddress == nil && !netdevs.isDisjoint(with: $0.netdevs)) }
    }

    /// Reads the node. `names` adds pci.ids names; pass nil to skip the look-ups.
    /// `readGIDs` reads every GID and P_Key table (hundreds of files per ConnectX port): for
    /// `discover`, not for the daemon's frequent rescans.
    public static func scan(roots: HostRoots = HostRoots(), names: PCINames? = nil, readGIDs: Bool = false) -> HostSnapshot {
        let sysfs = SysfsReader(root: roots.sysRoot)
        var devices = sysfs.entries("bus/pci/devices").compactMap { entry -> PCIDevice? in
            guard let address = PCIAddress(entry) else { return nil }
            return readPCIDevice(address, sysfs: sysfs, names: names)
        }
        devices.sort { $0.address < $1.address }

        // A VF's index is its PF's `virtfnN` name: computed once per PF here rather
        // than by scanning every virtfn link for every VF.
        var vfIndex: [PCIAddress: (PCIAddress, Int)] = [:]
        for pf in devices {
            for (index, vf) in pf.sriov?.virtualFunctions ?? [:] { vfIndex[vf] = (pf.address, index) }
        }
        for position in devices.indices {
            if let (pf, index) = vfIndex[devices[position].address] {
                devices[position].pfAddress = pf
                devices[position].vfIndex = index
            } else if let pf = sysfs.linkName("bus/pci/devices/\(devices[position].address)/physfn").flatMap(PCIAddress.init) {
                // A VF whose PF we could not read: keep the relation without an index.
                devices[position].pfAddress = pf
            }
        }

        let interfaces = sysfs.entries("class/net").map { readInterface($0, sysfs: sysfs) }
        let nodes = DeviceNodes.scan(devRoot: roots.devRoot)
        let rdma = RDMADiscovery.scan(sysfs: sysfs, devRoot: roots.devRoot, nodes: nodes, readGIDs: readGIDs)
        return HostSnapshot(
            pciDevices: devices,
            networkInterfaces: interfaces,
            rdmaDevices: rdma,
            kernelHasRDMAClass: sysfs.exists("class/infiniband"),
            deviceNodes: nodes,
            roots: roots
        )
    }

    private static func readPCIDevice(_ address: PCIAddress, sysfs: SysfsReader, names: PCINames?) -> PCIDevice? {
        let base = "bus/pci/devices/\(address)/"
        // One read of `modalias` gives all five IDs (what ghw does); fixtures and odd
        // devices without it fall back to the separate attributes.
        let ids = sysfs.string(base + "modalias").flatMap(PCIModalias.init)
            ?? PCIModalias(vendor: sysfs.hexNumber(base + "vendor"), device: sysfs.hexNumber(base + "device"),
                           subsystemVendor: sysfs.hexNumber(base + "subsystem_vendor"),
                           subsystemDevice: sysfs.hexNumber(base + "subsystem_device"), classCode: sysfs.hexNumber(base + "class"))
        guard let vendor = ids.vendor, let device = ids.device else { return nil }
        let classCode = ids.classCode ?? 0
        // A VF (it has physfn) cannot have SR-IOV capability of its own.
        let isVF = sysfs.link(base + "physfn") != nil
        var sriov: SRIOVCapability?
        if !isVF, let total = sysfs.int(base + "sriov_totalvfs") {
            var vfs: [Int: PCIAddress] = [:]
            for entry in sysfs.entries("bus/pci/devices/\(address)") where entry.hasPrefix("virtfn") {
                if let index = Int(entry.dropFirst("virtfn".count)),
                   let vf = sysfs.linkName(base + entry).flatMap(PCIAddress.init) {
                    vfs[index] = vf
                }
            }
            sriov = SRIOVCapability(totalVFs: total, enabledVFs: sysfs.int(base + "sriov_numvfs") ?? 0, virtualFunctions: vfs)
        }
        let numa = sysfs.int(base + "numa_node").flatMap { $0 < 0 ? nil : $0 }
        var result = PCIDevice(
            address: address,
            vendorID: UInt16(truncatingIfNeeded: vendor),
            deviceID: UInt16(truncatingIfNeeded: device),
            subsystemVendorID: ids.subsystemVendor.map { UInt16(truncatingIfNeeded: $0) },
            subsystemDeviceID: ids.subsystemDevice.map { UInt16(truncatingIfNeeded: $0) },
            classCode: classCode,
            driver: sysfs.linkName(base + "driver"),
            numaNode: numa,
            iommuGroup: sysfs.linkName(base + "iommu_group").flatMap { Int($0) },
            sriov: sriov
        )
        result.acpiIndex = sysfs.int(base + "acpi_index").flatMap { $0 == 0 ? nil : $0 }
        if let driver = result.driver, driver.contains("uio") { result.uioDevices = sysfs.entries(base + "uio") }
        if !isVF {
            // Scalable functions hang off PFs: <driver>.<type>.<id>, e.g. mlx5_core.sf.4.
            result.auxiliaryDevices = sysfs.entries("bus/pci/devices/\(address)").filter { entry in
                entry.split(separator: ".").count == 3 && Int(entry.split(separator: ".")[2]) != nil
            }
        }
        result.names = names?.names(vendorID: result.vendorID, deviceID: result.deviceID, classCode: classCode)
        return result
    }

    private static func readInterface(_ name: String, sysfs: SysfsReader) -> NetworkInterface {
        let base = "class/net/\(name)/"
        // class/net/<name> links to .../<device>/net/<name>: the device path is in the
        // link text, with no realpath(3) walk. Anything odder is resolved in full.
        let devicePath = sysfs.link("class/net/\(name)").flatMap(deviceDirectory(ofClassLink:)) ?? sysfs.resolved(base + "device")
        let pci = devicePath.flatMap(immediatePCIAddress(ofDevicePath:))
        let auxiliary = devicePath.flatMap { path -> String? in
            guard pci == nil, let last = path.split(separator: "/").last, last.split(separator: ".").count == 3 else { return nil }
            return String(last)
        }
        return NetworkInterface(
            name: name,
            index: sysfs.int(base + "ifindex"),
            mtu: sysfs.int(base + "mtu"),
            macAddress: sysfs.string(base + "address").flatMap(MACAddress.init),
            operState: sysfs.string(base + "operstate"),
            carrier: sysfs.int(base + "carrier").map { $0 == 1 },
            linkType: sysfs.int(base + "type"),
            pciAddress: pci,
            auxiliaryDevice: auxiliary,
            physPortName: sysfs.string(base + "phys_port_name").flatMap { $0.isEmpty ? nil : $0 }
        )
    }
}
