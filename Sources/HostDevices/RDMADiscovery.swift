/// Reads `<sysRoot>/class/infiniband` and the character-device classes that point
/// back at each RDMA device by name (`infiniband_verbs/uverbsN/ibdev` and friends).
/// With a `portQuery`, a device that opens has its ports' facts from libibverbs instead.
enum RDMADiscovery {
    static func scan(sysfs: SysfsReader, devRoot: String, nodes: DeviceNodes, readGIDs: Bool,
                     portQuery: (any RDMAPortQuery)? = nil) -> [RDMADevice] {
        // ibdev name → char device names, one pass per class.
        var owners: [String: RDMACharacterDevices] = [:]
        func collect(_ classDir: String, _ kinds: [(prefix: String, assign: (inout RDMACharacterDevices, String) -> Void)]) {
            guard let dir = SysfsDirectory(sysfs.path(classDir)) else { return }
            for entry in dir.entries() {
                guard let kind = kinds.first(where: { entry.hasPrefix($0.prefix) }), let ibdev = dir.string(entry + "/ibdev") else { continue }
                kind.assign(&owners[ibdev, default: RDMACharacterDevices()], devRoot + "/infiniband/" + entry)
            }
        }
        collect("class/infiniband_verbs", [("uverbs", { $0.uverbs = $1 })])
        collect("class/infiniband_mad", [("umad", { $0.umad = $1 }), ("issm", { $0.issm = $1 })])
        collect("class/infiniband_cm", [("ucm", { $0.ucm = $1 })])

        guard let classDir = SysfsDirectory(sysfs.path("class/infiniband")) else { return [] }
        return classDir.entries().compactMap { name -> RDMADevice? in
            guard let dir = classDir.subdirectory(name) else { return nil }
            let devicePath = classDir.link(name).flatMap(deviceDirectory(ofClassLink:))
                ?? sysfs.resolved("class/infiniband/\(name)/device")
            let pci = devicePath.flatMap { immediatePCIAddress(ofDevicePath: $0) }
            var netdevs: Set<String> = []
            var ports: [RDMAPort] = []
            for port in dir.entries("ports") {
                guard let number = Int(port), let portDir = dir.subdirectory("ports/" + port) else { continue }
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
                        if let number = Int(index), let gid = table.string(index), gid != "0000:0000:0000:0000:0000:0000:0000:0000" {
                            gids[number] = gid
                            if let type = portDir.string("gid_attrs/types/" + index) {
                                gidTypes[number] = gidTypeName(sysfs: type, linkLayer: linkLayer)
                            }
                        }
                    }
                }
                var pKeys: [Int: PartitionKey] = [:]
                let pKeyIndexes = readGIDs ? (portDir.subdirectory("pkeys")?.entries() ?? []) : ["0"]
                for index in pKeyIndexes {
                    if let number = Int(index),
                       let key = portDir.withAttribute("pkeys/" + index, { PartitionKey(String(decoding: $0, as: UTF8.self)) }),
                       key.partition != 0 {
                        pKeys[number] = key
                    }
                }
                ports.append(RDMAPort(number: number, state: state?.number, stateName: state?.name, linkLayer: linkLayer,
                                      gids: gids, pKeys: pKeys,
                                      physicalStateName: readGIDs ? portDir.string("phys_state").map { numberedName($0).name } : nil,
                                      gidTypes: gidTypes))
            }
            ports.sort { $0.number < $1.number }
            if let verbsPorts = portQuery?.ports(ofDevice: name) {
                ports = merging(sysfs: ports, verbs: verbsPorts)
            }
            var characterDevices = owners[name] ?? RDMACharacterDevices()
            characterDevices.rdmaCM = nodes.rdmaCM
            return RDMADevice(name: name, pciAddress: pci, netdevs: netdevs.sorted(), nodeType: dir.string("node_type"),
                              ports: ports, characterDevices: characterDevices)
        }
    }

    /// A device that opened: its ports are the ones libibverbs reports, with state,
    /// link layer, MTU and GIDs from there. P_Keys stay sysfs's (the pKeys selector
    /// reads them; libibverbs is not asked).
    static func merging(sysfs: [RDMAPort], verbs: [RDMAPortAttributes]) -> [RDMAPort] {
        verbs.sorted { $0.number < $1.number }.map { attributes in
            let read = sysfs.first { $0.number == attributes.number }
                ?? RDMAPort(number: attributes.number, state: nil, stateName: nil, linkLayer: nil)
            return read.replacingFacts(with: attributes)
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
    if directory.utf8.split(separator: slash).contains(where: { $0.elementsEqual("virtual".utf8) }) { return nil }
    return String(directory)
}
