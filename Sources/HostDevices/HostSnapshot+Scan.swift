extension HostSnapshot {
    /// How many threads a scan reads sysfs on: the CPUs this process may run on, at most 8.
    public static var scanThreads: Int { scanWorkers }

    /// Reads the node. `names` adds pci.ids names; pass nil to skip the look-ups.
    /// `readGIDs` reads every GID and P_Key table (hundreds of files per ConnectX port): for
    /// `discover`, not for the daemon's frequent rescans.
    /// `portQuery` asks libibverbs for the ports of each RDMA device that opens; its answers
    /// replace sysfs's and each port records its source. Also for `discover` only: opening
    /// every device at every rescan costs far more than reading a few sysfs files.
    /// `detail`: `.forPools` leaves out the netdev and RDMA attributes no pool or health
    /// check reads, for the daemon's rescans (a third of a scan's syscalls on a node of VFs).
    /// `firmware` reads devlink device info (one netlink dump for the node): for the
    /// `ddpProfiles` selector and `discover`.
    public static func scan(roots: HostRoots = HostRoots(), names: (any PCINameLookup)? = nil, readGIDs: Bool = false,
                            portQuery: (any RDMAPortQuery)? = nil, firmware: (any FirmwareQuery)? = nil,
                            detail: ScanDetail = .all) -> HostSnapshot {
        scan(roots: roots, only: nil, names: names, readGIDs: readGIDs, portQuery: portQuery, firmware: firmware, detail: detail)
    }

    /// Reads only `functions` and their PFs, with their netdevs and RDMA devices (a
    /// software RDMA device counts when it is bound to one of those netdevs): what a
    /// CNI call needs to know of one VF, without reading every function of a node
    /// of thousands. Look-ups about anything else find nothing.
    public static func scan(roots: HostRoots = HostRoots(), functions: Set<PCIAddress>) -> HostSnapshot {
        scan(roots: roots, only: functions, names: nil, readGIDs: false, portQuery: nil, firmware: nil, detail: .all)
    }

    private static func scan(roots: HostRoots, only functions: Set<PCIAddress>?, names: (any PCINameLookup)?, readGIDs: Bool,
                             portQuery: (any RDMAPortQuery)?, firmware: (any FirmwareQuery)?, detail: ScanDetail) -> HostSnapshot {
        let sysfs = SysfsReader(root: roots.sysRoot)
        // Class and bus directories stay open: each device is opened relative to them.
        let busDevices = SysfsDirectory(sysfs.path("bus/pci/devices"))
        func read(_ entry: String) -> (device: PCIDevice, auxiliary: [AuxiliaryDevice])? {
            guard let address = PCIAddress(entry), let dir = busDevices?.subdirectory(entry) else { return nil }
            return readPCIDevice(address, dir: dir, detail: detail)
        }
        var scanned: [(device: PCIDevice, auxiliary: [AuxiliaryDevice])]
        if let functions {
            scanned = functions.compactMap { read($0.description) }
            let pfs = Set(scanned.compactMap(\.device.pfAddress)).subtracting(functions)
            scanned += pfs.compactMap { read($0.description) }
        } else {
            // Functions, netdevs and RDMA devices are read on every CPU the process has:
            // each read is a syscall relative to its own directory (see concurrentMap).
            scanned = busDevices.map { concurrentMap($0.entries(), read).compactMap { $0 } } ?? []
        }
        scanned.sort { $0.device.address < $1.device.address }
        var devices = scanned.map(\.device)
        let auxiliary = scanned.flatMap(\.auxiliary)
        // libpci's name cache is not thread-safe: names are looked up here, in turn.
        if let names {
            for position in devices.indices {
                devices[position].names = names.names(vendorID: devices[position].vendorID, deviceID: devices[position].deviceID,
                                                      classCode: devices[position].classCode)
            }
        }

        // A PF whose VF list came from routing IDs is checked against the VFs that name
        // it as their `physfn`: one that is not where the arithmetic put it (odd
        // hardware, a hand-made tree) sends that PF back to its `virtfnN` links. In a
        // full scan every VF is checked, so an offset or stride that is off leaves the
        // first or last VFs outside the list. A scan of some functions cannot see
        // that: each VF asked about is checked against its own `virtfnN` link (one
        // readlink), since a CNI call must not configure a neighbour.
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
            } else if functions != nil,
                      busDevices?.subdirectory(pf.description)?.linkName("virtfn\(distance / stride)") != device.address.description {
                misplaced.insert(position)
            }
        }
        for position in misplaced {
            let entry = devices[position].address.description
            if let dir = busDevices?.subdirectory(entry) {
                devices[position].sriov?.virtualFunctions = virtfnLinks(dir, entries: dir.entries())
                devices[position].sriov?.source = .virtfnLinks
            }
        }
        // A VF's index is its place in its PF's list: computed once per PF here rather
        // than by scanning every virtfn link for every VF.
        var vfIndex: [PCIAddress: (PCIAddress, Int)] = [:]
        for pf in devices {
            for (index, vf) in pf.sriov?.virtualFunctions ?? [:] { vfIndex[vf] = (pf.address, index) }
        }
        // A VF whose PF could not be read keeps its `physfn` relation without an index.
        for position in devices.indices {
            if let (pf, index) = vfIndex[devices[position].address] {
                devices[position].pfAddress = pf
                devices[position].vfIndex = index
            }
        }

        let vfAddresses = Set(devices.lazy.filter(\.isVirtualFunction).map(\.address))
        let classNet = SysfsDirectory(sysfs.path("class/net"))
        // sysfs lists a function's netdevs below it, in this network namespace only, as `class/net` does.
        let netdevNames = functions == nil ? nil : devices.flatMap { busDevices?.entries("\($0.address)/net") ?? [] }
        let interfaces = classNet.map { classNet in
            concurrentMap(netdevNames ?? classNet.entries()) {
                readInterface($0, classNet: classNet, sysfs: sysfs, vfAddresses: vfAddresses, detail: detail)
            }
        } ?? []
        let nodes = DeviceNodes.scan(devRoot: roots.devRoot)
        let rdma: [RDMADevice]
        if functions != nil {
            // The functions' own RDMA devices, and software ones (no parent) on their netdevs.
            let children = devices.flatMap { busDevices?.entries("\($0.address)/infiniband") ?? [] }
            // A device with no parent (rxe) is a virtual one: listed there, not linked from class/ one by one.
            let software = sysfs.entries("devices/virtual/infiniband")
            let bound = Set(interfaces.map(\.name))
            rdma = RDMADiscovery.scan(sysfs: sysfs, devRoot: roots.devRoot, nodes: nodes, readGIDs: false,
                                      only: (Set(children + software), devices.map(\.address)))
                .filter { $0.pciAddress != nil || !bound.isDisjoint(with: $0.netdevs) }
        } else {
            rdma = RDMADiscovery.scan(sysfs: sysfs, devRoot: roots.devRoot, nodes: nodes, readGIDs: readGIDs, portQuery: portQuery,
                                      detail: detail)
        }
        var firmwareReading = FirmwareReading.notRead
        if let firmware {
            do { firmwareReading = .read(try firmware.devices()) } catch { firmwareReading = .failed("\(error)") }
        }
        return HostSnapshot(
            pciDevices: devices,
            networkInterfaces: interfaces,
            rdmaDevices: rdma,
            kernelHasRDMAClass: sysfs.exists("class/infiniband"),
            deviceNodes: nodes,
            roots: roots,
            firmware: firmwareReading,
            vdpaDevices: VDPADiscovery.scan(sysfs: sysfs, devRoot: roots.devRoot)
                .filter { device in functions == nil || devices.contains { $0.address == device.parentAddress } },
            auxiliaryDevices: auxiliary
        )
    }

    /// The function, and the auxiliary devices below it with their `sfnum` (read while
    /// its directory is open: a scalable function's number, for pfNames ranges).
    private static func readPCIDevice(_ address: PCIAddress, dir: SysfsDirectory,
                                      detail: ScanDetail) -> (device: PCIDevice, auxiliary: [AuxiliaryDevice])? {
        // One read of `modalias` gives all five IDs (what ghw does); fixtures and odd
        // devices without it fall back to the separate attributes.
        func hexNumber(_ name: String) -> UInt32? {
            dir.string(name).flatMap { text in
                let digits = text.trimmingWhitespace
                return UInt32(digits.hasPrefix("0x") || digits.hasPrefix("0X") ? String(digits.dropFirst(2)) : digits, radix: 16)
            }
        }
        let ids = dir.string("modalias").flatMap(PCIModalias.init)
            ?? PCIModalias(vendor: hexNumber("vendor"), device: hexNumber("device"), subsystemVendor: hexNumber("subsystem_vendor"),
                           subsystemDevice: hexNumber("subsystem_device"), classCode: hexNumber("class"))
        guard let vendor = ids.vendor, let device = ids.device else { return nil }
        let classCode = ids.classCode ?? 0
        // A VF (it has physfn) cannot have SR-IOV capability of its own.
        let physfn = dir.link("physfn")
        let isVF = physfn != nil
        var sriov: SRIOVCapability?
        var auxiliaryDevices: [String] = []
        if !isVF, let total = dir.int("sriov_totalvfs") {
            let entries = dir.entries()
            let enabled = dir.int("sriov_numvfs") ?? 0
            let offset = dir.int("sriov_offset"), stride = dir.int("sriov_stride")
            // The kernel places VF N at the PF's routing ID + offset + N × stride: no need
            // to read one `virtfnN` link per VF (256 per PF on a large node). scan()
            // checks the VFs it finds against this and falls back to the links.
            if let offset, let stride, let routed = routedVirtualFunctions(of: address, count: enabled, offset: offset, stride: stride) {
                sriov = SRIOVCapability(totalVFs: total, enabledVFs: enabled, virtualFunctions: routed, firstVFOffset: offset,
                                        vfStride: stride, source: .routingIDs)
            } else {
                sriov = SRIOVCapability(totalVFs: total, enabledVFs: enabled, virtualFunctions: virtfnLinks(dir, entries: entries),
                                        firstVFOffset: offset, vfStride: stride)
            }
            auxiliaryDevices = entries.filter(isAuxiliaryDeviceName)
        } else if !isVF {
            auxiliaryDevices = dir.entries().filter(isAuxiliaryDeviceName)
        }
        var result = PCIDevice(
            address: address,
            vendorID: UInt16(truncatingIfNeeded: vendor),
            deviceID: UInt16(truncatingIfNeeded: device),
            subsystemVendorID: ids.subsystemVendor.map { UInt16(truncatingIfNeeded: $0) },
            subsystemDeviceID: ids.subsystemDevice.map { UInt16(truncatingIfNeeded: $0) },
            classCode: classCode,
            driver: dir.linkName("driver"),
            numaNode: dir.int("numa_node").flatMap { $0 < 0 ? nil : $0 },
            iommuGroup: nil,
            sriov: sriov
        )
        // Allocate needs a vfio function's group (`/dev/vfio/N`); only `discover` shows the others'.
        if detail == .all || result.driver?.containsBytes("vfio") == true {
            result.iommuGroup = dir.linkName("iommu_group").flatMap { Int($0) }
        }
        result.pfAddress = physfn.map(lastComponent).flatMap(PCIAddress.init)
        // acpi_index comes from the function's ACPI companion (drivers/pci/pci-label.c);
        // a VF has none, so the file is never there to read.
        if !isVF { result.acpiIndex = dir.int("acpi_index").flatMap { $0 == 0 ? nil : $0 } }
        if let driver = result.driver, driver.containsBytes("uio") { result.uioDevices = dir.subdirectory("uio")?.entries() ?? [] }
        result.auxiliaryDevices = auxiliaryDevices
        return (result, auxiliaryDevices.map { AuxiliaryDevice(name: $0, parentAddress: address, sfNumber: dir.int($0 + "/sfnum")) })
    }

    /// VF index → address from the PF's routing ID; nil when the numbers cannot be
    /// right (a zero stride with several VFs, an ID past bus ff).
    static func routedVirtualFunctions(of pf: PCIAddress, count: Int, offset: Int, stride: Int) -> [Int: PCIAddress]? {
        guard count >= 0, offset > 0, stride > 0 || count <= 1 else { return nil }
        var vfs: [Int: PCIAddress] = [:]
        for index in 0..<count {
            guard let vf = pf.withRoutingID(pf.routingID + offset + index * stride) else { return nil }
            vfs[index] = vf
        }
        return vfs
    }

    /// VF index → address from the PF's `virtfnN` links.
    static func virtfnLinks(_ dir: SysfsDirectory, entries: [String]) -> [Int: PCIAddress] {
        var vfs: [Int: PCIAddress] = [:]
        for entry in entries where entry.hasPrefix("virtfn") {
            if let index = Int(entry.dropFirst("virtfn".count)), let vf = dir.linkName(entry).flatMap(PCIAddress.init) {
                vfs[index] = vf
            }
        }
        return vfs
    }

    /// `vfAddresses`: a VF's netdev is never a switchdev representor (those hang off
    /// the PF), so its `phys_port_name` is not read.
    private static func readInterface(_ name: String, classNet: SysfsDirectory, sysfs: SysfsReader,
                                      vfAddresses: Set<PCIAddress>, detail: ScanDetail) -> NetworkInterface {
        // class/net/<name> links to .../<device>/net/<name>: the device path is in the
        // link text, with no realpath(3) walk. Anything odder is resolved in full.
        let devicePath = classNet.link(name).flatMap(deviceDirectory(ofClassLink:)) ?? sysfs.resolved("class/net/\(name)/device")
        let pci = devicePath.flatMap(immediatePCIAddress(ofDevicePath:))
        let auxiliary = devicePath.flatMap { path -> String? in
            let last = lastComponent(path)
            return pci == nil && isAuxiliaryDeviceName(last) ? last : nil
        }
        let isVF = pci.map(vfAddresses.contains) == true
        let all = detail == .all
        if isVF && !all {
            // Only the link type: read through the class directory, not worth opening the netdev's own.
            return NetworkInterface(name: name, linkType: classNet.int(name + "/type"), pciAddress: pci)
        }
        let dir = classNet.subdirectory(name)
        return NetworkInterface(
            name: name,
            index: all ? dir?.int("ifindex") : nil,
            mtu: all ? dir?.int("mtu") : nil,
            macAddress: all ? dir?.withAttribute("address") { MACAddress(String(decoding: $0, as: UTF8.self)) } : nil,
            operState: dir?.string("operstate"),
            carrier: dir?.int("carrier").map { $0 == 1 },
            linkType: dir?.int("type"),
            pciAddress: pci,
            auxiliaryDevice: auxiliary,
            physPortName: isVF ? nil : dir?.string("phys_port_name").flatMap { $0.isEmpty ? nil : $0 }
        )
    }
}
