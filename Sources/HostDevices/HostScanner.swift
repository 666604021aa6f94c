/// Reads a node's sysfs and device trees into a `HostSnapshot`, phase by phase: the PCI
/// functions, their VF lists checked and indexed, then the netdevs, RDMA devices,
/// firmware and vDPA devices. The scan of the node and the scan of some functions are
/// two compositions of the same phases.
struct HostScanner {
    let roots: HostRoots
    let detail: ScanDetail
    let sysfs: SysfsReader
    /// Stays open: each function is opened relative to it.
    let busDevices: SysfsDirectory?

    init(roots: HostRoots, detail: ScanDetail) {
        self.roots = roots
        self.detail = detail
        sysfs = SysfsReader(root: roots.sysRoot)
        busDevices = SysfsDirectory(sysfs.path("bus/pci/devices"))
    }

    /// Every function, netdev and RDMA device of the node; names, libibverbs's ports and
    /// devlink's firmware when asked for.
    func scanNode(names: (any PCINameLookup)?, readGIDs: Bool, portQuery: (any RDMAPortQuery)?,
                  firmware: (any FirmwareQuery)?) -> HostSnapshot {
        var functions = readFunctions()
        if let names { lookUpNames(names, of: &functions.devices) }
        verifyVFLists(&functions.devices, readingEachVFLink: false)
        indexVFs(&functions.devices)
        let interfaces = readInterfaces(of: functions.devices)
        let nodes = DeviceNodes.scan(devRoot: roots.devRoot)
        var rdma = readRDMA(nodes: nodes, readGIDs: readGIDs)
        if let portQuery { queryPorts(portQuery, of: &rdma) }
        return snapshot(functions, interfaces: interfaces, rdma: rdma, nodes: nodes,
                        firmware: firmware.map(readFirmware) ?? .notRead, vdpa: readVDPA())
    }

    /// `addresses` and their PFs, and what belongs to them.
    func scan(functions addresses: Set<PCIAddress>) -> HostSnapshot {
        var functions = readFunctions(addresses)
        verifyVFLists(&functions.devices, readingEachVFLink: true)
        indexVFs(&functions.devices)
        let devices = functions.devices
        // sysfs lists a function's netdevs below it, in this network namespace only, as `class/net` does.
        let interfaces = readInterfaces(devices.flatMap { busDevices?.entries("\($0.address)/net") ?? [] }, of: devices)
        let nodes = DeviceNodes.scan(devRoot: roots.devRoot)
        let rdma = readRDMA(of: devices, boundTo: interfaces, nodes: nodes)
        let vdpa = readVDPA().filter { device in devices.contains { $0.address == device.parentAddress } }
        return snapshot(functions, interfaces: interfaces, rdma: rdma, nodes: nodes, firmware: .notRead, vdpa: vdpa)
    }

    /// PCI functions in address order, and the auxiliary devices below them.
    typealias Functions = (devices: [PCIDevice], auxiliary: [AuxiliaryDevice])

    /// Every function on the PCI bus, read on every CPU the process has: each read is a
    /// syscall relative to its own directory (see concurrentMap).
    func readFunctions() -> Functions {
        inAddressOrder(busDevices.map { concurrentMap($0.entries(), readFunction).compactMap { $0 } } ?? [])
    }

    /// `addresses` and the PFs of the VFs among them.
    func readFunctions(_ addresses: Set<PCIAddress>) -> Functions {
        var scanned = addresses.compactMap { readFunction($0.description) }
        let pfs = Set(scanned.compactMap(\.device.pfAddress)).subtracting(addresses)
        scanned += pfs.compactMap { readFunction($0.description) }
        return inAddressOrder(scanned)
    }

    private func readFunction(_ entry: String) -> (device: PCIDevice, auxiliary: [AuxiliaryDevice])? {
        guard let address = PCIAddress(entry), let dir = busDevices?.subdirectory(entry) else { return nil }
        return Self.readPCIDevice(address, dir: dir, detail: detail)
    }

    private func inAddressOrder(_ scanned: [(device: PCIDevice, auxiliary: [AuxiliaryDevice])]) -> Functions {
        let scanned = scanned.sorted { $0.device.address < $1.device.address }
        return (scanned.map(\.device), scanned.flatMap(\.auxiliary))
    }

    /// libpci's name cache is not thread-safe: names are looked up here, in turn.
    func lookUpNames(_ names: any PCINameLookup, of devices: inout [PCIDevice]) {
        for position in devices.indices {
            devices[position].names = names.names(vendorID: devices[position].vendorID, deviceID: devices[position].deviceID,
                                                  classCode: devices[position].classCode)
        }
    }

    /// A PF whose VF list came from routing IDs is checked against the VFs that name it
    /// as their `physfn`: one that is not where the arithmetic put it (odd hardware, a
    /// hand-made tree) sends that PF back to its `virtfnN` links. In a scan of the node
    /// every VF is checked, so an offset or stride that is off leaves the first or last
    /// VFs outside the list. A scan of some functions cannot see that, so it reads
    /// each VF's own `virtfnN` link (`readingEachVFLink`, one readlink), since a CNI
    /// call must not configure a neighbour.
    func verifyVFLists(_ devices: inout [PCIDevice], readingEachVFLink: Bool) {
        var positions: [PCIAddress: Int] = [:]
        for (position, device) in devices.enumerated() { positions[device.address] = position }
        var misplaced: Set<Int> = []
        for device in devices {
            guard let pf = device.pfAddress, let position = positions[pf], let sriov = devices[position].sriov,
                  sriov.source == .routingIDs, !misplaced.contains(position) else { continue }
            // Its index by the same arithmetic, so the check is not quadratic in VFs per PF.
            let distance = device.address.routingID - devices[position].address.routingID - (sriov.firstVFOffset ?? 0)
            let stride = max(sriov.vfStride ?? 1, 1)
            if device.address.domain != pf.domain || distance < 0 || distance % stride != 0
                || sriov.virtualFunctions[distance / stride] != device.address {
                misplaced.insert(position)
            } else if readingEachVFLink,
                      busDevices?.subdirectory(pf.description)?.linkName("virtfn\(distance / stride)") != device.address.description {
                misplaced.insert(position)
            }
        }
        for position in misplaced {
            if let dir = busDevices?.subdirectory(devices[position].address.description) {
                devices[position].sriov?.virtualFunctions = Self.virtfnLinks(dir, entries: dir.entries())
                devices[position].sriov?.source = .virtfnLinks
            }
        }
    }

    /// A VF's index is its place in its PF's list: computed once per PF here rather than
    /// by scanning every virtfn link for every VF. A VF whose PF could not be read keeps
    /// its `physfn` relation without an index.
    func indexVFs(_ devices: inout [PCIDevice]) {
        var vfIndex: [PCIAddress: (PCIAddress, Int)] = [:]
        for pf in devices {
            for (index, vf) in pf.sriov?.virtualFunctions ?? [:] { vfIndex[vf] = (pf.address, index) }
        }
        for position in devices.indices {
            if let (pf, index) = vfIndex[devices[position].address] {
                devices[position].pfAddress = pf
                devices[position].vfIndex = index
            }
        }
    }

    /// The netdevs `class/net` lists, or only `names`, read on every CPU the process has.
    func readInterfaces(_ names: [String]? = nil, of devices: [PCIDevice]) -> [NetworkInterface] {
        let vfAddresses = Set(devices.lazy.filter(\.isVirtualFunction).map(\.address))
        guard let classNet = SysfsDirectory(sysfs.path("class/net")) else { return [] }
        return concurrentMap(names ?? classNet.entries()) {
            Self.readInterface($0, classNet: classNet, sysfs: sysfs, vfAddresses: vfAddresses, detail: detail)
        }
    }

    /// Every RDMA device in `class/infiniband`.
    func readRDMA(nodes: DeviceNodes, readGIDs: Bool) -> [RDMADevice] {
        RDMADiscovery.scan(sysfs: sysfs, devRoot: roots.devRoot, nodes: nodes, readGIDs: readGIDs, detail: detail)
    }

    /// The RDMA devices below `devices`, and software ones (no parent) bound to one of `interfaces`.
    func readRDMA(of devices: [PCIDevice], boundTo interfaces: [NetworkInterface], nodes: DeviceNodes) -> [RDMADevice] {
        let children = devices.flatMap { busDevices?.entries("\($0.address)/infiniband") ?? [] }
        // A device with no parent (rxe) is a virtual one: listed there, not linked from class/ one by one.
        let software = sysfs.entries("devices/virtual/infiniband")
        let bound = Set(interfaces.map(\.name))
        return RDMADiscovery.scan(sysfs: sysfs, devRoot: roots.devRoot, nodes: nodes, readGIDs: false, detail: detail,
                                  only: (Set(children + software), devices.map(\.address)))
            .filter { $0.pciAddress != nil || !bound.isDisjoint(with: $0.netdevs) }
    }

    /// libibverbs opens devices one at a time, after the concurrent sysfs reads: a device
    /// that opens has its ports from there.
    func queryPorts(_ query: any RDMAPortQuery, of devices: inout [RDMADevice]) {
        for position in devices.indices {
            if let verbsPorts = query.ports(ofDevice: devices[position].name) {
                devices[position].ports = RDMADiscovery.merging(sysfs: devices[position].ports, verbs: verbsPorts)
            }
        }
    }

    func readFirmware(_ query: any FirmwareQuery) -> FirmwareReading {
        do { return .read(try query.devices()) } catch { return .failed("\(error)") }
    }

    func readVDPA() -> [VDPADevice] {
        VDPADiscovery.scan(sysfs: sysfs, devRoot: roots.devRoot)
    }

    private func snapshot(_ functions: Functions, interfaces: [NetworkInterface], rdma: [RDMADevice], nodes: DeviceNodes,
                          firmware: FirmwareReading, vdpa: [VDPADevice]) -> HostSnapshot {
        HostSnapshot(pciDevices: functions.devices, networkInterfaces: interfaces, rdmaDevices: rdma,
                     kernelHasRDMAClass: sysfs.exists("class/infiniband"), deviceNodes: nodes, roots: roots,
                     firmware: firmware, vdpaDevices: vdpa, auxiliaryDevices: functions.auxiliary)
    }
}
