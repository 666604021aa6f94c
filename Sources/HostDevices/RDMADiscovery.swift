/// Reads `<sysRoot>/class/infiniband` and the character-device classes that point
/// back at each RDMA device by name (`infiniband_verbs/uverbsN/ibdev` and friends).
enum RDMADiscovery {
    static func scan(sysfs: SysfsReader, devRoot: String, nodes: DeviceNodes, readGIDs: Bool, detail: ScanDetail = .all,
                     only: (names: Set<String>, functions: [PCIAddress])? = nil) -> [RDMADevice] {
        guard let classDir = SysfsDirectory(sysfs.path("class/infiniband")) else { return [] }
        let names = only.map { $0.names.sorted() } ?? classDir.entries()
        var devices = concurrentMap(names) { name in
            readDevice(name, classDir: classDir, sysfs: sysfs, readGIDs: readGIDs, detail: detail)
        }.compactMap { $0 }
        let owners = characterDevices(sysfs: sysfs, devRoot: devRoot, devices: devices, below: only?.functions)
        for position in devices.indices {
            devices[position].characterDevices = owners[devices[position].name] ?? RDMACharacterDevices()
            devices[position].characterDevices.rdmaCM = nodes.rdmaCM
        }
        return devices
    }

    /// RDMA device name → its char devices, from the classes that list them
    /// (`infiniband_verbs/uverbsN` and friends). ib_uverbs and ib_umad give each char
    /// device its RDMA device's parent, so a class entry's link text names that parent:
    /// when it is a PCI function with exactly one RDMA device, that device is the owner,
    /// known from one readlink; when none of `devices` is below it, the entry is not
    /// theirs. Otherwise (soft-RoCE has no parent; an auxiliary device; an entry that
    /// is not a link) the entry's `ibdev` file names the owner. With `functions`, only
    /// the char devices below those functions and the parentless ones are looked at.
    static func characterDevices(sysfs: SysfsReader, devRoot: String, devices: [RDMADevice],
                                 below functions: [PCIAddress]? = nil) -> [String: RDMACharacterDevices] {
        var devicesByParent: [PCIAddress: [String]] = [:]
        for device in devices {
            if let address = device.pciAddress { devicesByParent[address, default: []].append(device.name) }
        }
        var owners: [String: RDMACharacterDevices] = [:]
        func collect(_ className: String, _ kinds: [(prefix: String, assign: (inout RDMACharacterDevices, String) -> Void)]) {
            func take(_ dir: SysfsDirectory, parent: (SysfsDirectory, String) -> PCIAddress?) {
                for entry in dir.entries() {
                    guard let kind = kinds.first(where: { entry.hasPrefix($0.prefix) }) else { continue }
                    let siblings = parent(dir, entry).map { devicesByParent[$0] ?? [] }
                    // A PCI parent with none of `devices` below it: not one of theirs.
                    if siblings?.isEmpty == true { continue }
                    let sole = siblings.flatMap { $0.count == 1 ? $0[0] : nil }
                    guard let owner = sole ?? dir.string(entry + "/ibdev") else { continue }
                    kind.assign(&owners[owner, default: RDMACharacterDevices()], devRoot + "/infiniband/" + entry)
                }
            }
            if let functions {
                // Only below the functions asked about, and the parentless (virtual) ones.
                for function in functions {
                    if let dir = SysfsDirectory(sysfs.path("bus/pci/devices/\(function)/\(className)")) { take(dir) { _, _ in function } }
                }
                if let dir = SysfsDirectory(sysfs.path("devices/virtual/\(className)")) { take(dir) { _, _ in nil } }
            } else if let dir = SysfsDirectory(sysfs.path("class/\(className)")) {
                take(dir) { dir, entry in
                    dir.link(entry).flatMap(deviceDirectory(ofClassLink:)).flatMap(immediatePCIAddress(ofDevicePath:))
                }
            }
        }
        collect("infiniband_verbs", [("uverbs", { $0.uverbs = $1 })])
        collect("infiniband_mad", [("umad", { $0.umad = $1 }), ("issm", { $0.issm = $1 })])
        collect("infiniband_cm", [("ucm", { $0.ucm = $1 })])
        return owners
    }

    /// One RDMA device's sysfs facts: parent, netdevs of a software device, ports.
    static func readDevice(_ name: String, classDir: SysfsDirectory, sysfs: SysfsReader, readGIDs: Bool,
                           detail: ScanDetail) -> RDMADevice? {
        guard let dir = classDir.subdirectory(name) else { return nil }
        let devicePath = classDir.link(name).flatMap(deviceDirectory(ofClassLink:))
            ?? sysfs.resolved("class/infiniband/\(name)/device")
        let pci = devicePath.flatMap { immediatePCIAddress(ofDevicePath: $0) }
        var netdevs: Set<String> = []
        var ports: [RDMAPort] = []
        // Ports are numbered without gaps from 1, or 0 alone on a switch (ib_core
        // makes one directory per port from rdma_start_port to rdma_end_port): they
        // are opened in turn, which costs less than listing `ports/`.
        var number = 1
        var next = dir.subdirectory("ports/1")
        if next == nil {
            number = 0
            next = dir.subdirectory("ports/0")
        }
        while let portDir = next {
            // A PCI device's netdevs are its function's; only a software device
            // (rxe) names its netdev here, in every GID slot, so the first will do.
            if pci == nil, let ndevs = portDir.subdirectory("gid_attrs/ndevs") {
                for gid in ndevs.entries() {
                    if let netdev = ndevs.string(gid), !netdev.isEmpty {
                        netdevs.insert(netdev)
                        break
                    }
                }
            }
            let state = portDir.string("state").map(numberedName)
            let linkLayer = portDir.string("link_layer")
            var gids: [Int: String] = [:]
            var gidTypes: [Int: String] = [:]
            if readGIDs, let table = portDir.subdirectory("gids") {
                for index in table.entries() {
                    if let slot = Int(index), let gid = table.string(index), gid != "0000:0000:0000:0000:0000:0000:0000:0000" {
                        gids[slot] = gid
                        if let type = portDir.string("gid_attrs/types/" + index) {
                            gidTypes[slot] = gidTypeName(sysfs: type, linkLayer: linkLayer)
                        }
                    }
                }
            }
            var pKeys: [Int: PartitionKey] = [:]
            // Pools compare P_Keys of InfiniBand ports only (RoCE ports never match pKeys,
            // as in SRIOV-DP), so a rescan does not read them on Ethernet ports.
            let pKeyIndexes = readGIDs ? (portDir.subdirectory("pkeys")?.entries() ?? [])
                : detail == .all || linkLayer != "Ethernet" ? ["0"] : []
            for index in pKeyIndexes {
                if let slot = Int(index),
                   let key = portDir.withAttribute("pkeys/" + index, { PartitionKey(String(decoding: $0, as: UTF8.self)) }),
                   key.partition != 0 {
                    pKeys[slot] = key
                }
            }
            ports.append(RDMAPort(number: number, state: state?.number, stateName: state?.name, linkLayer: linkLayer,
                                  gids: gids, pKeys: pKeys,
                                  physicalStateName: readGIDs ? portDir.string("phys_state").map { numberedName($0).name } : nil,
                                  gidTypes: gidTypes))
            number += 1
            next = number == 1 ? nil : dir.subdirectory("ports/\(number)")
        }
        var device = RDMADevice(name: name, pciAddress: pci, netdevs: netdevs.sorted(),
                                nodeType: detail == .all ? dir.string("node_type") : nil, ports: ports)
        if pci == nil, let parent = devicePath.map(lastComponent), isAuxiliaryDeviceName(parent) { device.auxiliaryDevice = parent }
        device.nodeGUID = dir.string("node_guid").flatMap(InfiniBandGUID.init)
        return device
    }

    /// A device that opened: its ports are the ones libibverbs reports, with state,
    /// link layer, MTU and GIDs from there. P_Keys stay sysfs's (the pKeys selector
    /// reads them; libibverbs is not asked).
    static func merging(sysfs: [RDMAPort], verbs: [RDMAPort]) -> [RDMAPort] {
        verbs.sorted { $0.number < $1.number }.map { port in
            var port = port
            port.pKeys = sysfs.first { $0.number == port.number }?.pKeys ?? [:]
            return port
        }
    }

    /// "4: ACTIVE" → (4, "ACTIVE"), the form of `state` and `phys_state`.
    static func numberedName(_ text: String) -> (number: Int?, name: String) {
        guard let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")) else { return (nil, text.trimmingWhitespace) }
        return (Int(text[..<colon].trimmingWhitespace), text[text.utf8.index(after: colon)...].trimmingWhitespace)
    }

    /// sysfs names a RoCE v1 GID and an InfiniBand GID alike, `IB/RoCE v1`
    /// (drivers/infiniband/core/cache.c gid_type_str); the link layer tells them apart,
    /// as libibverbs does when it reads the same file.
    static func gidTypeName(sysfs type: String, linkLayer: String?) -> String {
        guard type == "IB/RoCE v1" else { return type }
        return linkLayer == "InfiniBand" ? "IB" : "RoCE v1"
    }
}

/// The PCI address of the device a sysfs device path names: the last component
/// itself, or for a virtio bus device (`virtio0`) its parent. Any other device
/// (an auxiliary `mlx5_core.sf.4`, a virtual device) has none of its own.
func immediatePCIAddress(ofDevicePath path: String) -> PCIAddress? {
    let last = lastComponentSlice(path)
    if let address = PCIAddress(last) { return address }
    if last.hasPrefix("virtio"), Int(last.dropFirst("virtio".count)) != nil,
       let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) {
        return PCIAddress(lastComponentSlice(path[..<slash]))
    }
    return nil
}

/// The device directory in a class link's text: `../../devices/.../0000:01:10.0/net/eth1`
/// → `../../devices/.../0000:01:10.0`; virtual devices (`devices/virtual/...`) have none.
func deviceDirectory(ofClassLink link: String) -> String? {
    let slash = UInt8(ascii: "/")
    guard let last = link.utf8.lastIndex(of: slash), let classDir = link.utf8[..<last].lastIndex(of: slash),
          classDir > link.utf8.startIndex else { return nil }
    let directory = link[..<classDir]
    // A `virtual` component anywhere: compared in place, no array of components per link.
    let virtual = Array("virtual".utf8)
    var start = directory.utf8.startIndex
    while start < directory.utf8.endIndex {
        let end = directory.utf8[start...].firstIndex(of: slash) ?? directory.utf8.endIndex
        if directory.utf8[start..<end].elementsEqual(virtual) { return nil }
        start = end < directory.utf8.endIndex ? directory.utf8.index(after: end) : end
    }
    return String(directory)
}
