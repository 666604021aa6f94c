import DevicePlugin
import HostDevices
import JSONValue
import ResourcePools
import SystemSupport

/// What `discover` prints: the node's network functions, SR-IOV PFs with their VFs,
/// RDMA devices, and with a config the pools and why devices were left out.
struct DiscoveryReport {
    let snapshot: HostSnapshot
    let sysRoot: String
    var assignment: PoolAssignment? = nil
    /// Keys the config parse ignored.
    var configWarnings: [ConfigWarning] = []
    /// Whether the scan asked libibverbs about the ports (not with a fixture --sys-root).
    var askedVerbs = false

    var text: String {
        var out = ""
        let network = snapshot.pciDevices.filter(\.isNetworkController)
        out += "PCI: \(snapshot.pciDevices.count) functions under \(sysRoot)/bus/pci/devices, \(network.count) of them network controllers.\n"
        for device in network {
            out += "  \(describe(device))\n"
        }

        let pfs = snapshot.physicalFunctions
        if pfs.isEmpty {
            out += "\nSR-IOV: no physical functions. No PCI function has a sriov_totalvfs attribute, "
            out += "which the kernel creates for every device whose driver supports SR-IOV"
            if network.isEmpty {
                out += ", and there are no network controllers at all.\n"
            } else {
                let drivers = Set(network.compactMap(\.driver)).sorted()
                out += drivers.isEmpty
                    ? "; the network controllers here are not bound to any driver.\n"
                    : "; the network controllers here use \(drivers.joined(separator: ", ")), which expose no SR-IOV capability.\n"
            }
        } else {
            out += "\nSR-IOV: \(pfs.count) physical function\(pfs.count == 1 ? "" : "s").\n"
            for pf in pfs {
                guard let sriov = pf.sriov else { continue }
                out += "  PF \(describe(pf))\n"
                out += "     VFs enabled: \(sriov.enabledVFs) of \(sriov.totalVFs)\n"
                for (index, address) in sriov.virtualFunctions.sorted(by: { $0.key < $1.key }) {
                    if let vf = snapshot.device(at: address) {
                        out += "     VF \(index): \(describe(vf))\n"
                    } else {
                        out += "     VF \(index): \(address) (listed by the PF, not readable)\n"
                    }
                }
            }
        }

        if !snapshot.kernelHasRDMAClass {
            out += "\nRDMA: none. \(sysRoot)/class/infiniband does not exist: the kernel has no RDMA core (ib_core) loaded.\n"
        } else if snapshot.rdmaDevices.isEmpty {
            out += "\nRDMA: none. \(sysRoot)/class/infiniband is empty: no RDMA driver has registered a device.\n"
        } else {
            out += "\nRDMA: \(snapshot.rdmaDevices.count) device\(snapshot.rdmaDevices.count == 1 ? "" : "s").\n"
            let missingGUIDs = missingGUIDs
            let missingByDevice = Dictionary(grouping: missingGUIDs, by: \.rdmaDevice)
            for device in snapshot.rdmaDevices {
                let parent = device.pciAddress.map { "PCI \($0)" }
                    ?? device.auxiliaryDevice.map { "scalable function \($0)" } ?? "no PCI parent (software device)"
                let netdevs = device.netdevs.isEmpty ? "no netdev" : "netdev \(device.netdevs.joined(separator: ", "))"
                let guid = device.nodeGUID.map { "node GUID \($0), " } ?? ""
                let chars = device.characterDevices.all.map(\.lastPathComponent).joined(separator: " ")
                out += "  \(device.name): \(parent), \(netdevs), \(guid)\(device.ports.isEmpty ? "no ports, " : "")char devices: \(chars.isEmpty ? "none" : chars)\n"
                for port in device.ports { out += "     \(describe(port))\n" }
                for missing in missingByDevice[device.name] ?? [] {
                    out += "     warning: \(missing.function): \(missing.reason)\n"
                }
            }
            if !missingGUIDs.isEmpty {
                let count = missingGUIDs.count
                out += "\nInfiniBand GUIDs: \(count) function\(count == 1 ? " has" : "s have") none (warnings above). To fix: \(MissingGUID.remedy).\n"
            }
        }
        let functions = snapshot.scalableFunctions
        if !functions.isEmpty {
            out += "\nScalable functions: \(functions.count).\n"
            for function in functions {
                let netdevs = snapshot.interfaces(ofAuxiliary: function.name).map(\.name)
                let rdma = snapshot.rdmaDevices(ofAuxiliary: function.name).map(\.name)
                out += "  \(function.name): PF \(function.parentAddress), sfnum \(function.sfNumber ?? 0), "
                out += netdevs.isEmpty ? "no netdev here" : "netdev \(netdevs.joined(separator: ", "))"
                if !rdma.isEmpty { out += ", RDMA \(rdma.joined(separator: ", "))" }
                out += "\n"
            }
        }
        if !snapshot.vdpaDevices.isEmpty {
            out += "\nvDPA: \(snapshot.vdpaDevices.count) device\(snapshot.vdpaDevices.count == 1 ? "" : "s").\n"
            for device in snapshot.vdpaDevices {
                let parent = device.parentAddress.map { "on \($0)" } ?? "no PCI parent"
                let driver = device.driver.map { "driver \($0)" + (device.type.map { " (\($0.rawValue))" } ?? "") } ?? "no driver bound"
                out += "  \(device.name): \(parent), \(driver)\(device.vhostDevice.map { ", \($0)" } ?? "")\n"
            }
        }
        switch snapshot.firmware {
        case .notRead:
            break
        case .failed(let reason):
            out += "\ndevlink: unreadable, so no DDP profiles: \(reason)\n"
        case .read(let devices):
            out += "\ndevlink: \(devices.isEmpty ? "no devices" : "\(devices.count) device\(devices.count == 1 ? "" : "s")").\n"
            for device in devices {
                out += "  \(device.bus)/\(device.device): driver \(device.driver ?? "unknown")"
                if let serial = device.serialNumber { out += ", serial \(serial)" }
                out += "\n"
                for version in device.versions { out += "     \(version.kind.rawValue) \(version.name) \(version.value)\n" }
            }
        }
        if !configWarnings.isEmpty {
            out += "\nConfig keys ignored (as the Go plugins ignore them; --strict-config refuses them):\n"
            for warning in configWarnings { out += "  \(warning)\n" }
        }
        if let assignment {
            out += "\nPools:\n"
            for pool in assignment.pools {
                let kind = pool.config.deviceType == .rdmaShared
                    ? "\(pool.devices.count) shared slots over \(pool.sharedRDMADevices.map(\.name).joined(separator: ", "))"
                    : "\(pool.devices.count) device\(pool.devices.count == 1 ? "" : "s")"
                out += "  \(pool.qualifiedName): \(kind)\n"
                if pool.config.deviceType != .rdmaShared {
                    for device in pool.devices {
                        var line = "     \(device.id)"
                        if !device.netdevs.isEmpty { line += " \(device.netdevs.joined(separator: ","))" }
                        if !device.rdmaDevices.isEmpty { line += " rdma \(device.rdmaDevices.joined(separator: ","))" }
                        if let numa = device.numaNode { line += " NUMA \(numa)" }
                        out += line + "\n"
                    }
                }
            }
            if !assignment.excluded.isEmpty {
                out += "\nLeft out:\n"
                for device in assignment.excluded {
                    let name = device.auxiliaryDevice.map { "\($0) (scalable function of \(device.address))" } ?? device.address.description
                    out += "  \(name):\n" + device.reasons.map { "     \($0)\n" }.joined()
                }
            }
        }
        return out
    }

    /// InfiniBand RDMA devices with a zero or all-ones node GUID, which ib-sriov-cni
    /// refuses to attach unless the network brings a GUID.
    private var missingGUIDs: [MissingGUID] { MissingGUID.all(in: snapshot) }

    /// The same facts as data, for scripts.
    var json: String {
        let pciDevices: [JSON] = snapshot.pciDevices.filter { $0.isNetworkController || $0.classCode >> 16 == 0x12 }.map { device in
            var entry: [String: JSON] = [
                "address": .string(device.address.description), "vendor": .string(hex4(device.vendorID)),
                "device": .string(hex4(device.deviceID)), "class": .string(hex(device.classCode, digits: 6)),
                "driver": nullable(device.driver), "numaNode": nullable(device.numaNode), "iommuGroup": nullable(device.iommuGroup),
                "netdevs": strings(snapshot.interfaces(of: device.address).map(\.name)),
                "rdmaDevices": strings(snapshot.rdmaDevices(of: device.address).map(\.name)),
                // Bound to a network driver with no netdev in this namespace: a pod has it.
                "netdevNotVisible": .bool(snapshot.netdevNotVisible(device)),
                "acpiIndex": nullable(device.acpiIndex), "auxiliaryDevices": strings(device.auxiliaryDevices),
                "vendorName": nullable(device.names?.vendor), "deviceName": nullable(device.names?.device),
                "ddpProfile": nullable(snapshot.firmware(of: device.address)?.ddpProfile),
            ]
            if let sriov = device.sriov {
                entry["sriov"] = JSON(sortingKeysOf: ["totalVFs": JSON(sriov.totalVFs), "numVFs": JSON(sriov.enabledVFs),
                                                      "pfName": nullable(snapshot.pfName(of: device.address)),
                                                      "firstVFOffset": nullable(sriov.firstVFOffset), "vfStride": nullable(sriov.vfStride),
                                                      "vfListSource": .string(sriov.source.rawValue)])
            }
            if let (pf, index) = device.virtualFunctionOf {
                entry["pf"] = .string(pf.description)
                entry["vfIndex"] = JSON(index)
            }
            return JSON(sortingKeysOf: entry)
        }
        let netdevs: [JSON] = snapshot.networkInterfaces.map { iface in
            JSON(sortingKeysOf: ["name": .string(iface.name), "pciAddress": nullable(iface.pciAddress?.description),
                                 "mac": nullable(iface.macAddress?.description), "mtu": nullable(iface.mtu),
                                 "operState": nullable(iface.operState), "carrier": iface.carrier.map(JSON.bool) ?? .null,
                                 "linkType": .string(iface.linkTypeName), "physPortName": nullable(iface.physPortName),
                                 "representor": .bool(iface.isRepresentor), "auxiliaryDevice": nullable(iface.auxiliaryDevice)])
        }
        let rdmaDevices: [JSON] = snapshot.rdmaDevices.map { device in
            let ports = device.ports.map { port in
                let gids = port.gids.sorted { $0.key < $1.key }.map { index, gid in
                    JSON(sortingKeysOf: ["index": JSON(index), "gid": .string(gid), "type": nullable(port.gidTypes[index])])
                }
                return JSON(sortingKeysOf: ["port": JSON(port.number), "state": nullable(port.stateName),
                                            "physicalState": nullable(port.physicalStateName), "linkLayer": nullable(port.linkLayer),
                                            "activeMTU": nullable(port.activeMTU), "gids": .array(gids),
                                            "source": .string(port.source.rawValue)])
            }
            return JSON(sortingKeysOf: ["name": .string(device.name), "pciAddress": nullable(device.pciAddress?.description),
                                        "netdevs": strings(device.netdevs), "ports": .array(ports),
                                        "charDevices": strings(device.characterDevices.all),
                                        "nodeGUID": nullable(device.nodeGUID?.description)])
        }
        let functions = snapshot.scalableFunctions
        var root: [String: JSON] = ["pciDevices": .array(pciDevices), "netdevs": .array(netdevs), "rdmaDevices": .array(rdmaDevices),
                                    "devlink": devlinkJSON,
                                    "scalableFunctions": .array(functions.map { function in
                                        JSON(sortingKeysOf: ["name": .string(function.name), "pf": .string(function.parentAddress.description),
                                                             "sfNumber": nullable(function.sfNumber),
                                                             "netdevs": strings(snapshot.interfaces(ofAuxiliary: function.name).map(\.name)),
                                                             "rdmaDevices": strings(snapshot.rdmaDevices(ofAuxiliary: function.name).map(\.name))])
                                    }),
                                    "vdpaDevices": .array(snapshot.vdpaDevices.map { device in
                                        JSON(sortingKeysOf: ["name": .string(device.name), "parent": nullable(device.parentAddress?.description),
                                                             "driver": nullable(device.driver), "type": nullable(device.type?.rawValue),
                                                             "vhostDevice": nullable(device.vhostDevice)])
                                    }),
                                    "infiniBandGUIDWarnings": .array(missingGUIDs.map { missing in
                                        JSON(sortingKeysOf: ["function": .string(missing.function.description),
                                                             "rdmaDevice": .string(missing.rdmaDevice),
                                                             "nodeGUID": .string(missing.nodeGUID.description),
                                                             "reason": .string(missing.reason), "remedy": .string(MissingGUID.remedy)])
                                    })]
        if assignment != nil || !configWarnings.isEmpty {
            root["configWarnings"] = strings(configWarnings.map(\.description))
        }
        if let assignment {
            root["pools"] = .array(assignment.pools.map { pool in
                let devices = pool.devices.map { device in
                    JSON(sortingKeysOf: ["id": .string(device.id), "numaNode": nullable(device.numaNode),
                                         "netdevs": strings(device.netdevs), "rdmaDevices": strings(device.rdmaDevices)])
                }
                return JSON(sortingKeysOf: ["resourceName": .string(pool.qualifiedName),
                                            "deviceType": .string(pool.config.deviceType.rawValue), "devices": .array(devices)])
            })
            root["excluded"] = .array(assignment.excluded.map { device in
                var entry: [String: JSON] = ["address": .string(device.address.description), "reasons": strings(device.reasons)]
                if let name = device.auxiliaryDevice { entry["auxiliaryDevice"] = .string(name) }
                return JSON(sortingKeysOf: entry)
            })
        }
        return JSON(sortingKeysOf: root).prettyPrinted
    }

    /// `{"status": "read", "devices": [...]}`, `{"status": "failed", "error": ...}` or `{"status": "notRead"}`.
    private var devlinkJSON: JSON {
        switch snapshot.firmware {
        case .notRead:
            return JSON(sortingKeysOf: ["status": .string("notRead")])
        case .failed(let reason):
            return JSON(sortingKeysOf: ["status": .string("failed"), "error": .string(reason)])
        case .read(let devices):
            let entries = devices.map { device in
                let versions = device.versions.map { version in
                    JSON(sortingKeysOf: ["kind": .string(version.kind.rawValue), "name": .string(version.name), "value": .string(version.value)])
                }
                return JSON(sortingKeysOf: ["bus": .string(device.bus), "device": .string(device.device), "driver": nullable(device.driver),
                                            "serialNumber": nullable(device.serialNumber), "versions": .array(versions)])
            }
            return JSON(sortingKeysOf: ["status": .string("read"), "devices": .array(entries)])
        }
    }

    private func describe(_ device: PCIDevice) -> String {
        var text = "\(device.address) [\(hex4(device.vendorID)):\(hex4(device.deviceID))]"
        if let name = device.names?.device ?? device.names?.vendor { text += " \(name)" }
        text += ", driver \(device.driver ?? "none")"
        let netdevs = snapshot.interfaces(of: device.address)
        if !netdevs.isEmpty {
            text += ", netdev " + netdevs.map { iface in
                let representor = iface.isRepresentor ? ", representor \(iface.physPortName ?? "")" : ""
                return "\(iface.name) (\(iface.operState ?? "unknown")\(iface.macAddress.map { ", \($0)" } ?? "")\(representor))"
            }.joined(separator: ", ")
        } else if snapshot.netdevNotVisible(device) {
            text += ", netdev not visible here (in another network namespace, such as a pod's)"
        }
        if let numa = device.numaNode { text += ", NUMA \(numa)" }
        return text
    }

    /// `port 1: ACTIVE, LinkUp, Ethernet, MTU 1024, 2 GIDs (libibverbs)`, or what sysfs
    /// has, saying why libibverbs did not answer.
    private func describe(_ port: RDMAPort) -> String {
        var facts = [port.stateName ?? "state unknown"]
        if let physical = port.physicalStateName { facts.append(physical) }
        facts.append(port.linkLayer ?? "link layer unknown")
        if let mtu = port.activeMTU { facts.append("MTU \(mtu)") }
        facts.append("\(port.gids.count) GID\(port.gids.count == 1 ? "" : "s")")
        let source = switch port.source {
        case .verbs: "libibverbs"
        case .sysfs: askedVerbs ? "sysfs: the device did not open through libibverbs" : "sysfs"
        }
        return "port \(port.number): \(facts.joined(separator: ", ")) (\(source))"
    }

    private func hex4(_ value: UInt16) -> String { hex(UInt32(value), digits: 4) }

    /// Lower-case hex, zero-padded to `digits`.
    private func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// JSON null for a missing value.
private func nullable(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
private func nullable(_ value: Int?) -> JSON { value.map { JSON($0) } ?? .null }
private func strings(_ values: [String]) -> JSON { .array(values.map(JSON.string)) }
