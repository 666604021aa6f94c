/// Reads `<sysRoot>/class/infiniband` and the character-device classes that point
/// back at each RDMA device by name (`infiniband_verbs/uverbsN/ibdev` and friends).
enum RDMADiscovery {
    static func scan(sysfs: SysfsReader, devRoot: String, nodes: DeviceNodes, readGIDs: Bool) -> [RDMADevice] {
        // ibdev name → char device names, one pass per class.
        var owners: [String: RDMACharacterDevices] = [:]
        func collect(_ classDir: String, prefix: String, _ assign: (inout RDMACharacterDevices, String) -> Void) {
            for entry in sysfs.entries(classDir) where entry.hasPrefix(prefix) {
                guard let ibdev = sysfs.string("\(classDir)/\(entry)/ibdev") else { continue }
                assign(&owners[ibdev, default: RDMACharacterDevices()], devRoot + "/infiniband/" + entry)
            }
        }
        collect("class/infiniband_verbs", prefix: "uverbs") { $0.uverbs = $1 }
        collect("class/infiniband_mad", prefix: "umad") { $0.umad = $1 }
        collect("class/infiniband_mad", prefix: "issm") { $0.issm = $1 }
        collect("class/infiniband_cm", prefix: "ucm") { $0.ucm = $1 }

        return sysfs.entries("class/infiniband").map { name in
            let base = "class/infiniband/\(name)/"
            let devicePath = sysfs.link("class/infiniband/\(name)").flatMap(deviceDirectory(ofClassLink:)) ?? sysfs.resolved(base + "device")
            let pci = devicePath.flatMap { immediatePCIAddress(ofDevicePath: $0) }
            var netdevs: Set<String> = []
            var ports: [RDMAPort] = []
            for port in sysfs.entries(base + "ports") {
                guard let number = Int(port) else { continue }
                let portBase = base + "ports/\(port)/"
                // A PCI device's netdevs are its function's; only a software device
                // (rxe) names its netdev here, in every GID slot, so the first will do.
                if pci == nil {
                    for gid in sysfs.entries(portBase + "gid_attrs/ndevs") {
                        if let netdev = sysfs.string(portBase + "gid_attrs/ndevs/\(gid)"), !netdev.isEmpty {
                            netdevs.insert(netdev)
                            break
                        }
                    }
                }
                // "4: ACTIVE"
                let stateText = sysfs.string(portBase + "state")
                let stateNumber = stateText.flatMap { Int($0.split(separator: ":").first.map(String.init)?.trimmingWhitespace ?? "") }
                let stateName = stateText.flatMap { $0.split(separator: ":").last.map { $0.trimmingWhitespace } }
                var gids: [Int: String] = [:]
                for index in readGIDs ? sysfs.entries(portBase + "gids") : [] {
                    if let number = Int(index), let gid = sysfs.string(portBase + "gids/\(index)"),
                       gid != "0000:0000:0000:0000:0000:0000:0000:0000" {
                        gids[number] = gid
                    }
                }
                var pKeys: [Int: PartitionKey] = [:]
                for index in readGIDs ? sysfs.entries(portBase + "pkeys") : ["0"] {
                    if let number = Int(index), let key = sysfs.string(portBase + "pkeys/\(index)").flatMap(PartitionKey.init),
                       key.partition != 0 {
                        pKeys[number] = key
                    }
                }
                ports.append(RDMAPort(number: number, state: stateNumber, stateName: stateName,
                                      linkLayer: sysfs.string(portBase + "link_layer"), gids: gids, pKeys: pKeys))
            }
            var characterDevices = owners[name] ?? RDMACharacterDevices()
            characterDevices.rdmaCM = nodes.rdmaCM
            return RDMADevice(name: name, pciAddress: pci, netdevs: netdevs.sorted(), nodeType: sysfs.string(base + "node_type"),
                              ports: ports.sorted { $0.number < $1.number }, characterDevices: characterDevices)
        }
    }
}

/// The PCI address of the device a sysfs device path names: the last component
/// itself, or for a virtio bus device (`virtio0`) its parent. Any other device
/// (an auxiliary `mlx5_core.sf.4`, a virtual device) has none of its own.
func immediatePCIAddress(ofDevicePath path: String) -> PCIAddress? {
    let components = path.split(separator: "/")
    guard let last = components.last else { return nil }
    if let address = PCIAddress(last) { return address }
    if last.hasPrefix("virtio"), Int(last.dropFirst("virtio".count)) != nil, components.count >= 2 {
        return PCIAddress(components[components.count - 2])
    }
    return nil
}

/// The device directory in a class link's text: `../../devices/.../0000:01:10.0/net/eth1`
/// → `../../devices/.../0000:01:10.0`; virtual devices (`devices/virtual/...`) have none.
func deviceDirectory(ofClassLink link: String) -> String? {
    let parts = link.split(separator: "/")
    guard parts.count >= 3, !parts.contains("virtual") else { return nil }
    return parts.dropLast(2).joined(separator: "/")
}
