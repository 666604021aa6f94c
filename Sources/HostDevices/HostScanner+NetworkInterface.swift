extension HostScanner {
    /// `vfAddresses`: a VF's netdev is never a switchdev representor (those hang off
    /// the PF), so its `phys_port_name` is not read.
    static func readInterface(_ name: String, classNet: SysfsDirectory, sysfs: SysfsReader,
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
