import HostDevices

/// What selectors look at for one PCI function, computed once per snapshot rather
/// than once per pool and selector.
struct DeviceFacts {
    /// The function itself, or for a scalable function its parent PF, whose IDs,
    /// driver and ACPI index SRIOV-DP's auxNetDevice selectors compare.
    let device: PCIDevice
    /// A scalable function: the pool device is this, not `device`.
    let auxiliary: AuxiliaryDevice?
    let vendor: String
    let deviceID: String
    let pfAddress: PCIAddress?
    let pfName: String?
    let vfIndex: Int?
    let netdevs: [NetworkInterface]
    let rdma: [RDMADevice]
    let linkType: String?
    /// Bound to a network driver but no netdev here: moved into a pod's namespace.
    let netdevNotVisible: Bool
    /// `ports/1/pkeys/0` of its own RDMA device, when port 1 is InfiniBand: what
    /// SRIOV-DP's `pKeys` selector compares (it reads the P_Key only when the link
    /// type is infiniband). A RoCE port's constant `0xffff` is not a partition.
    let pKey: PartitionKey?
    /// Why there is no `pKey`, for the left-out report.
    let noPKey: MissingPKey?
    /// The devlink info the `ddpProfiles` selector reads, as SRIOV-DP does: the
    /// function's own when it reports `fw.app.name`, else its PF's (VFs have no
    /// devlink instance of their own on ice).
    let firmware: DeviceFirmware?
    /// Whether the scan read devlink, and why not (the snapshot's reading).
    let devlink: FirmwareReading
    /// The function's first vDPA device by name, which SRIOV-DP's `vdpaType` also takes.
    let vdpa: VDPADevice?

    init(_ device: PCIDevice, snapshot: HostSnapshot, pfNames: [PCIAddress: String]) {
        self.device = device
        auxiliary = nil
        vendor = hexID(device.vendorID)
        deviceID = hexID(device.deviceID)
        pfAddress = device.pfAddress
        vfIndex = device.vfIndex
        pfName = device.pfAddress.map { pfNames[$0] } ?? (device.isPhysicalFunction ? pfNames[device.address] : nil)
        netdevs = snapshot.interfaces(of: device.address).filter { !$0.isRepresentor }
        rdma = snapshot.rdmaDevices(of: device.address)
        linkType = netdevs.first?.linkTypeName
        netdevNotVisible = snapshot.netdevNotVisible(device)
        let own = snapshot.firmware(of: device.address)
        firmware = own?.ddpProfile != nil ? own : device.pfAddress.flatMap(snapshot.firmware(of:)) ?? own
        devlink = snapshot.firmware
        vdpa = snapshot.vdpaDevices(of: device.address).first
        (pKey, noPKey) = Self.partitionKey(of: rdma.first { $0.pciAddress == device.address })
    }

    /// A scalable function: its parent PF's IDs, driver, name and devlink info; its
    /// own netdevs and RDMA devices; `sfnum` as the index `pfNames` ranges count
    /// (SRIOV-DP's funcID for SFs).
    init(auxiliary: AuxiliaryDevice, parent: PCIDevice, pfName: String?, snapshot: HostSnapshot) {
        device = parent
        self.auxiliary = auxiliary
        vendor = hexID(parent.vendorID)
        deviceID = hexID(parent.deviceID)
        pfAddress = parent.address
        vfIndex = auxiliary.sfNumber
        self.pfName = pfName
        netdevs = snapshot.interfaces(ofAuxiliary: auxiliary.name)
        rdma = snapshot.rdmaDevices(ofAuxiliary: auxiliary.name)
        linkType = netdevs.first?.linkTypeName
        netdevNotVisible = parent.driver != nil && netdevs.isEmpty
        firmware = snapshot.firmware(of: parent.address)
        devlink = snapshot.firmware
        vdpa = nil
        (pKey, noPKey) = Self.partitionKey(of: rdma.first)
    }

    /// Port 1's P_Key at index 0 of the device's own RDMA device, or why there is none.
    private static func partitionKey(of ownRDMA: RDMADevice?) -> (PartitionKey?, MissingPKey?) {
        let port1 = ownRDMA?.ports.first { $0.number == 1 }
        let pKey: PartitionKey?, noPKey: MissingPKey?
        switch (ownRDMA, port1) {
        case (nil, _):
            (pKey, noPKey) = (nil, .noRDMADevice)
        case (let own?, nil):
            (pKey, noPKey) = (nil, .noPort1(own.name))
        case (let own?, let port?) where !port.isInfiniBand:
            (pKey, noPKey) = (nil, .notInfiniBand(own.name, port.linkLayer))
        case (let own?, let port?):
            pKey = port.pKeys[0]
            noPKey = pKey == nil ? .noIndex0(own.name) : nil
        }
        return (pKey, noPKey)
    }
}

extension DeviceFacts {
    /// Why `firmware` has no DDP profile, for the left-out report.
    var missingDDPProfile: String {
        switch devlink {
        case .notRead: return "devlink was not read"
        case .failed(let reason): return "devlink info unreadable: \(reason)"
        case .read:
            if let firmware { return "devlink info of \(firmware.bus)/\(firmware.device) has no fw.app.name" }
            let pf = pfAddress.map { " or its PF \($0)" } ?? ""
            return "no devlink device for \(device.address)\(pf)"
        }
    }
}

/// Why a function has no P_Key for the `pKeys` selector; a text only when reported,
/// since a scan of thousands of RoCE VFs would otherwise format one for each.
enum MissingPKey: CustomStringConvertible {
    case noRDMADevice
    case noPort1(String)
    case notInfiniBand(String, String?)
    case noIndex0(String)

    var description: String {
        switch self {
        case .noRDMADevice: "no RDMA device of its own"
        case let .noPort1(name): "\(name) has no port 1"
        case let .notInfiniBand(name, linkLayer): "\(name) port 1 is \(linkLayer ?? "of unknown link layer"), not InfiniBand"
        case let .noIndex0(name): "\(name) port 1 has no P_Key at index 0"
        }
    }
}

func hexID(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}

extension Selector {
    /// nil when the device is selected, otherwise the first filter it fails, in
    /// SRIOV-DP's filter order. Unless `explained`, a failure is the empty text: the
    /// daemon's rescans ask only whether a device is selected, and formatting a
    /// reason for nearly every device and pool would cost more than the selection.
    func mismatch(_ facts: DeviceFacts, explained: Bool = true) -> String? {
        func no(_ why: @autoclosure () -> String) -> String { explained ? why() : "" }
        if let vendors, !vendors.contains(facts.vendor) { return no("vendor \(facts.vendor) not in vendors \(vendors)") }
        if let devices, !devices.contains(facts.deviceID) { return no("device \(facts.deviceID) not in devices \(devices)") }
        if let drivers {
            guard let driver = facts.device.driver else { return no("no driver bound (drivers \(drivers))") }
            if !drivers.contains(driver) { return no("driver \(driver) not in drivers \(drivers)") }
        }
        if let auxTypes, let auxiliary = facts.auxiliary, !auxTypes.contains(auxiliary.type) {
            return no("auxiliary type \(auxiliary.type) not in auxTypes \(auxTypes)")
        }
        if let pciAddresses, !pciAddresses.contains(facts.device.address) { return no("\(facts.device.address) not in pciAddresses") }
        if let acpiIndexes {
            guard let index = facts.device.acpiIndex, acpiIndexes.contains(index) else {
                return no("acpi_index \(facts.device.acpiIndex.map(String.init) ?? "none") not in acpiIndexes \(acpiIndexes)")
            }
        }
        if let pfNames {
            guard facts.pfName != nil || facts.pfAddress != nil else { return no("not a VF and no PF name (pfNames)") }
            if !pfNames.contains(where: { $0.matches(pfName: facts.pfName, pfAddress: facts.pfAddress, vfIndex: facts.vfIndex) }) {
                let index = facts.vfIndex.map { "#\($0)" } ?? ""
                return no("PF \(facts.pfName ?? facts.pfAddress?.description ?? "?")\(index) not in pfNames")
            }
        }
        if let rootDevices {
            guard rootDevices.contains(where: { $0.matches(pfAddress: facts.pfAddress, vfIndex: facts.vfIndex) }) else {
                let ranged = rootDevices.contains { $0.vfIndexes != nil }
                let index = ranged ? facts.vfIndex.map { "#\($0)" } ?? "" : ""
                return no("PF \(facts.pfAddress?.description ?? "none")\(index) not in rootDevices")
            }
        }
        if let linkTypes {
            guard let type = facts.linkType else {
                let why = facts.netdevNotVisible ? "no netdev visible in this network namespace" : "no netdev"
                return no("link type unknown (\(why)): linkTypes \(linkTypes)")
            }
            if !linkTypes.contains(type) { return no("link type \(type) not in linkTypes \(linkTypes)") }
        }
        if let ddpProfiles {
            guard let profile = facts.firmware?.ddpProfile else {
                return no("no DDP profile (\(facts.missingDDPProfile)): ddpProfiles \(ddpProfiles)")
            }
            if !ddpProfiles.contains(profile) { return no("DDP profile \"\(profile)\" not in ddpProfiles \(ddpProfiles)") }
        }
        if let pKeys {
            guard let key = facts.pKey else {
                return no("\(facts.noPKey?.description ?? "no pkey"), so no pkey for pKeys \(pKeys.map(\.description))")
            }
            if !pKeys.contains(key) { return no("pkey \(key) not in pKeys \(pKeys.map(\.description))") }
        }
        if let isRdma, isRdma == facts.rdma.isEmpty {
            return no(isRdma ? "has no RDMA device (isRdma)" : "has an RDMA device (isRdma false)")
        }
        if let vdpaType {
            guard let vdpa = facts.vdpa else { return no("no vDPA device (vdpaType \(vdpaType))") }
            guard let type = vdpa.type else {
                return no("vDPA device \(vdpa.name) has driver \(vdpa.driver ?? "none"), not vhost_vdpa or virtio_vdpa (vdpaType \(vdpaType))")
            }
            if type.rawValue != vdpaType { return no("vDPA device \(vdpa.name) is \(type.rawValue) (\(vdpa.driver ?? "")), not vdpaType \(vdpaType)") }
            // Without its char device a pod would get no vDPA device at all.
            if type == .vhost, vdpa.vhostDevice == nil {
                return no("vDPA device \(vdpa.name) is bound to vhost_vdpa but no /dev/vhost-vdpa-N node is under the device root")
            }
        }
        if let ifNames, !facts.netdevs.contains(where: { ifNames.contains($0.name) }) {
            return no("netdev \(facts.netdevs.map(\.name)) not in ifNames \(ifNames)")
        }
        if let rdmaDevices, !facts.rdma.contains(where: { rdmaDevices.contains($0.name) }) {
            return no("RDMA device \(facts.rdma.map(\.name)) not in rdmaDevices \(rdmaDevices)")
        }
        return nil
    }
}
