import HostDevices

/// What `discover` prints: the node's network functions, SR-IOV PFs with their VFs,
/// and RDMA devices, and where something is missing, why.
struct DiscoveryReport {
    let snapshot: HostSnapshot
    let sysRoot: String

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
            for device in snapshot.rdmaDevices {
                let parent = device.pciAddress.map { "PCI \($0)" } ?? "no PCI parent (software device)"
                let netdevs = device.netdevs.isEmpty ? "no netdev" : "netdev \(device.netdevs.joined(separator: ", "))"
                out += "  \(device.name): \(parent), \(netdevs)\n"
            }
        }
        return out
    }

    private func describe(_ device: PCIDevice) -> String {
        var text = "\(device.address) [\(hex4(device.vendorID)):\(hex4(device.deviceID))]"
        if let name = device.names?.device ?? device.names?.vendor { text += " \(name)" }
        text += ", driver \(device.driver ?? "none")"
        let netdevs = snapshot.interfaces(of: device.address)
        if !netdevs.isEmpty {
            text += ", netdev " + netdevs.map { iface in
                "\(iface.name) (\(iface.operState ?? "unknown")\(iface.macAddress.map { ", \($0)" } ?? ""))"
            }.joined(separator: ", ")
        }
        if let numa = device.numaNode { text += ", NUMA \(numa)" }
        return text
    }

    private func hex4(_ value: UInt16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}
