extension HostScanner {
    /// The function, and the auxiliary devices below it with their `sfnum` (read while
    /// its directory is open: a scalable function's number, for pfNames ranges).
    static func readPCIDevice(_ address: PCIAddress, dir: SysfsDirectory,
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
            // to read one `virtfnN` link per VF (256 per PF on a large node). verifyVFLists
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
}
