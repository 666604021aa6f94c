import CNI
import HostDevices
import Netlink
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// ADD: moves the VF named by the config into the pod. The order follows sriov-cni
/// (lock, record, VF settings through the PF, netdev moved and renamed, IPAM) plus
/// the VF netdev's own MAC, RDMA isolation, MTU and state. Every step registers its undo first; any
/// failure undoes all completed steps and then reports what failed.
struct AttachVF {
    let call: CNICall
    let conf: SRIOVNetConf
    let host: AttachHost
    /// Tests: called after each step; throwing there simulates that step failing late.
    var faultInjection: ((ADDStep) throws -> Void)?

    private func checkpoint(_ step: ADDStep) throws {
        try faultInjection?(step)
    }

    func run() throws -> CNIResult {
        let environment = call.environment
        let logger = call.logger
        let address = conf.deviceID

        // Everything that can be checked without changing the host comes first.
        let podNamespace = try openPodNamespace(environment.netns)
        let hostNamespace = try host.openNamespace()
        guard !podNamespace.isSame(as: hostNamespace) else {
            throw CNIError(.invalidNetns, "CNI_NETNS \(environment.netns) is the plugin's own network namespace")
        }
        let podNetlink = try RouteNetlink(in: podNamespace)
        if let existing = try podNetlink.link(named: environment.ifname) {
            throw CNIError(.deviceOperationFailed,
                           "interface \(environment.ifname) already exists in \(environment.netns)",
                           details: existing.name == environment.ifname ? "" : "as an alternative name of \(existing.name)")
        }
        var ipam: PluginDelegate?
        if let type = call.config.ipamType { ipam = try PluginDelegate(type: type, environment: environment) }
        let state = StateDirectory(path: conf.stateDir)
        try state.prepare(["attachments", "allocations", "locks"])

        let lock = try state.lock("locks/\(address).lock", timeout: host.lockTimeout, purpose: "VF \(address)")
        defer { withExtendedLifetime(lock) {} }

        var rollback = Rollback()
        do {
            try checkpoint(.lock)
            try claimAllocation(state: state, rollback: &rollback, hostNamespace: hostNamespace)
            try checkpoint(.allocate)
            return try attach(podNamespace: podNamespace, podNetlink: podNetlink, hostNamespace: hostNamespace,
                              ipam: ipam, state: state, rollback: &rollback)
        } catch {
            logger.error("ADD failed: \(error); rolling back")
            let leftovers = rollback.unwind(logger: logger)
            guard leftovers.isEmpty else { throw RollbackIncomplete(failure: error, leftovers: leftovers) }
            throw error
        }
    }

    private func openPodNamespace(_ path: String) throws(CNIError) -> NetworkNamespace {
        do {
            return try NetworkNamespace.open(path: path)
        } catch let error as NetlinkError {
            throw CNIError(.invalidNetns, "cannot use CNI_NETNS \(path)", details: error.reason)
        } catch {
            throw CNIError(.invalidNetns, "cannot use CNI_NETNS \(path)", details: "\(error)")
        }
    }

    /// Takes the VF for this attachment. A record of another live attachment is an
    /// error; one whose namespace is gone is stale, and its VF is restored first.
    private func claimAllocation(state: StateDirectory, rollback: inout Rollback, hostNamespace: NetworkNamespace) throws {
        let environment = call.environment
        let file = AllocationRecord.fileName(conf.deviceID)
        if let existing = (try? state.read(file)).flatMap({ $0 }).flatMap(AllocationRecord.init(json:)) {
            // Alive means the path still opens as a network namespace: a leftover mount
            // point that is now a plain file does not hold the VF.
            if !existing.netns.isEmpty, (try? NetworkNamespace.open(path: existing.netns)) != nil {
                throw CNIError(.deviceBusy, "VF \(conf.deviceID) is already allocated",
                               details: "to container \(existing.containerID) interface \(existing.ifname) in \(existing.netns)")
            }
            call.logger.warning("VF \(conf.deviceID) was left allocated to container \(existing.containerID), whose netns "
                                + "\(existing.netns) is gone; restoring the VF from that attachment's state first")
            let detach = DetachVF(call: call, host: host, stateDir: conf.stateDir)
            if let record = try? detach.loadRecord(containerID: existing.containerID, ifname: existing.ifname) {
                try detach.restore(record, podNamespace: nil, hostNamespace: hostNamespace)
                try state.remove(record.fileName)
            }
            try state.remove(file)
        }
        rollback.register("remove the allocation record of \(conf.deviceID)") { try state.remove(file) }
        try state.write(file, AllocationRecord(containerID: environment.containerID, ifname: environment.ifname,
                                               netns: environment.netns, network: call.config.name).json)
    }

    private func attach(podNamespace: NetworkNamespace, podNetlink: RouteNetlink, hostNamespace: NetworkNamespace,
                        ipam: PluginDelegate?, state: StateDirectory, rollback: inout Rollback) throws -> CNIResult {
        let environment = call.environment
        let logger = call.logger
        let address = conf.deviceID
        let ifname = environment.ifname

        // Where the VF is now, and what it looks like.
        guard let location = try VFLocation.locate(address, roots: host.roots) else {
            throw CNIError(.deviceOperationFailed, "VF \(address) (\(conf.deviceIDSource)) does not exist on this node")
        }
        guard let netdevName = location.netdev else {
            throw CNIError(.deviceOperationFailed, "VF \(address) has no network interface in the host namespace",
                           details: "driver \(location.driver ?? "none"); a VF bound to a userspace driver (vfio-pci) is not supported")
        }
        if conf.needsPF && location.pf == nil {
            throw CNIError(.invalidNetworkConfig, "device \(address) is not an SR-IOV VF (it has no physfn), so "
                           + "vlan, spoofchk, trust, link_state and rates cannot be set through a PF")
        }
        let hostNetlink = try RouteNetlink(in: hostNamespace)
        guard let hostLink = try hostNetlink.link(named: netdevName), hostLink.name == netdevName else {
            throw CNIError(.deviceOperationFailed, "VF \(address) netdev \(netdevName) vanished from the host namespace")
        }
        if let parent = hostLink.parentDeviceName, hostLink.parentBusName == "pci", parent != address.description {
            throw CNIError(.deviceOperationFailed, "netdev \(netdevName) belongs to \(parent), not to VF \(address)")
        }

        // The PF's view of the VF, recorded before any change.
        var pfLink: LinkInfo?
        var originalVF: VirtualFunctionInfo?
        if let pf = location.pf {
            guard let link = try hostNetlink.link(named: pf.netdev) else {
                throw CNIError(.deviceOperationFailed, "PF \(pf.netdev) of VF \(address) is not in the host namespace")
            }
            pfLink = link
            let table = try hostNetlink.virtualFunctions(ofPF: link.index, device: pf.netdev)
            guard let entry = table.first(where: { $0.index == pf.vfIndex }) else {
                throw CNIError(.deviceOperationFailed, "PF \(pf.netdev) reports no VF \(pf.vfIndex) for \(address)",
                               details: "its VF table has \(table.count) entries")
            }
            originalVF = entry
        }

        // RDMA isolation is checked before the first change, so a shared-mode host fails cleanly.
        var rdmaDevice: (entry: RDMADeviceEntry, netlink: RDMANetlink)?
        if let name = location.rdmaDevices.first {
            if location.rdmaDevices.count > 1 {
                logger.warning("VF \(address) has several RDMA devices (\(location.rdmaDevices.joined(separator: ", "))); moving \(name)")
            }
            if conf.rdmaIsolation {
                rdmaDevice = try prepareRDMAMove(name, hostNamespace: hostNamespace)
            } else {
                logger.info("rdmaIsolation is off: RDMA device \(name) stays in the host namespace")
            }
        }

        var record = AttachmentRecord(
            network: call.config.name, containerID: environment.containerID, ifname: ifname, netns: environment.netns,
            deviceID: address,
            pf: location.pf,
            host: AttachmentRecord.HostNetdev(name: hostLink.name, mac: MACAddress(bytes: hostLink.hardwareAddress),
                                              mtu: hostLink.mtu, up: hostLink.isUp, alias: hostLink.alias),
            originalVF: originalVF, appliedVF: location.pf == nil ? [] : conf.vfSettings, ipamType: call.config.ipamType,
            rdma: rdmaDevice.map { AttachmentRecord.RDMARecord(device: $0.entry.name, moved: true) })
        rollback.register("remove the state record") { try state.remove(record.fileName) }
        try state.write(record.fileName, record.json)
        try checkpoint(.recordState)

        // The netdev, in the host namespace: down, then its own MAC, before the PF sets
        // the administrative one: igb takes a PF-set MAC on the VF only after a driver
        // rebind, and refuses the VF's own change once the PF has set one.
        let originalName = hostLink.name
        if hostLink.isUp {
            rollback.register("set \(originalName) up again") {
                if let link = try hostNetlink.link(named: originalName) {
                    try hostNetlink.setLink(index: link.index, device: originalName, LinkChange(up: true))
                }
            }
            try hostNetlink.setLink(index: hostLink.index, device: originalName, LinkChange(up: false))
        }
        try checkpoint(.linkDown)
        if let mac = conf.mac, mac.bytes != hostLink.hardwareAddress {
            rollback.register("restore the MAC of \(originalName)") {
                if let link = try hostNetlink.link(named: originalName) {
                    try setVFNetdevMAC(hostLink.hardwareAddress, linkIndex: link.index, device: originalName, netlink: hostNetlink,
                                       pf: location.pf, trusted: originalVF?.trust ?? false)
                }
            }
            try setVFNetdevMAC(mac.bytes, linkIndex: hostLink.index, device: originalName, netlink: hostNetlink,
                               pf: location.pf, trusted: originalVF?.trust ?? false)
        }
        try checkpoint(.netdevMAC)

        // VF settings through the PF, one request each, in sriov-cni's order.
        if let pf = location.pf, let pfLink, let originalVF {
            for kind in conf.vfSettings {
                let (desired, original) = settings(kind, original: originalVF)
                if let original {
                    rollback.register("restore VF \(pf.vfIndex) \(original) on \(pf.netdev)") {
                        try hostNetlink.setVirtualFunction(ofPF: pfLink.index, device: pf.netdev, vf: pf.vfIndex, original)
                    }
                }
                try hostNetlink.setVirtualFunction(ofPF: pfLink.index, device: pf.netdev, vf: pf.vfIndex, desired)
                try checkpoint(step(for: kind))
            }
        }

        // The RDMA device goes before the netdev, as in ib-sriov-cni: a soft-RoCE device
        // is deleted by the kernel when its netdev leaves, so a device that cannot move
        // must be found out while nothing has moved yet.
        if let rdmaDevice {
            rollback.register("move RDMA device \(rdmaDevice.entry.name) back to the host namespace") {
                let podRDMA = try RDMANetlink(in: podNamespace)
                if let entry = try podRDMA.devices().first(where: { $0.name == rdmaDevice.entry.name }) {
                    try podRDMA.moveDevice(index: entry.index, name: entry.name, to: hostNamespace)
                }
            }
            do {
                try rdmaDevice.netlink.moveDevice(index: rdmaDevice.entry.index, name: rdmaDevice.entry.name, to: podNamespace)
            } catch let error as NetlinkError {
                throw RDMAIsolationError.moveRefused(device: rdmaDevice.entry.name, vf: address, error)
            }
        }
        try checkpoint(.moveRDMA)

        // A stale alternative name equal to the pod's name would block the rename
        // (sriov-cni#445): drop it while the link is still in the host.
        for stale in hostLink.altNames where stale == ifname {
            rollback.register("restore alternative name \(stale) of \(originalName)") {
                if let link = try hostNetlink.link(named: originalName), link.name == originalName, !link.altNames.contains(stale) {
                    try hostNetlink.addAltName(stale, index: link.index, device: originalName)
                }
            }
            try hostNetlink.removeAltName(stale, index: hostLink.index, device: originalName)
        }
        try checkpoint(.removeStaleAltNames)

        // Move and rename in one request (IFLA_NET_NS_FD with IFLA_IFNAME): the kernel
        // renames the link inside the pod namespace under the same RTNL hold, and takes
        // the new name at once if the old one is taken there. So the link is never
        // renamed in the host (the udev and NetworkManager races of plugins PR #1073),
        // never clashes with the pod's names (sriov-cni#40, plugins#1002), and costs one
        // namespace switch instead of the two a temporary namespace needs. The alias keeps
        // the host name on the link itself (as host-device does), so a DEL without state
        // can still name it back.
        rollback.register("move \(ifname) back to the host namespace as \(originalName)") {
            if let link = try podNetlink.link(named: ifname), link.name == ifname {
                try podNetlink.setLink(index: link.index, device: ifname,
                                       LinkChange(name: originalName, alias: hostLink.alias ?? "", namespace: hostNamespace))
                // Kernels that keep an old name as an alternative name would keep ifname.
                if let returned = try hostNetlink.link(named: originalName), returned.altNames.contains(ifname) {
                    try hostNetlink.removeAltName(ifname, index: returned.index, device: originalName)
                }
            }
        }
        try hostNetlink.setLink(index: hostLink.index, device: originalName,
                                LinkChange(name: ifname, alias: originalName, namespace: podNamespace))
        try checkpoint(.moveToPodNetns)

        // Inside the pod.
        guard var podLink = try podNetlink.link(named: ifname) else {
            throw CNIError(.deviceOperationFailed, "\(ifname) did not arrive in \(environment.netns)")
        }
        if podLink.altNames.contains(originalName) {
            try podNetlink.removeAltName(originalName, index: podLink.index, device: ifname)
        }
        if let mtu = conf.mtu, mtu != podLink.mtu {
            let originalMTU = podLink.mtu
            rollback.register("restore the MTU of \(ifname)") {
                if let link = try podNetlink.link(named: ifname) {
                    try podNetlink.setLink(index: link.index, device: ifname, LinkChange(mtu: originalMTU))
                }
            }
            try podNetlink.setLink(index: podLink.index, device: ifname, LinkChange(mtu: mtu))
        }
        try checkpoint(.setMTU)
        rollback.register("set \(ifname) down") {
            if let link = try podNetlink.link(named: ifname) {
                try podNetlink.setLink(index: link.index, device: ifname, LinkChange(up: false))
            }
        }
        try podNetlink.setLink(index: podLink.index, device: ifname, LinkChange(up: true))
        try checkpoint(.linkUp)

        // IPAM, and the addresses and routes it hands out.
        var ipamResult = CNIResult()
        if let ipam {
            rollback.register("release the IPAM allocation (\(ipam.type) DEL)") { try ipam.delete(call.config) }
            ipamResult = try ipam.add(call.config)
        }
        try checkpoint(.ipam)
        try configureIP(ipamResult, link: podLink, netlink: podNetlink, rollback: &rollback)
        try checkpoint(.configureIP)


        podLink = try podNetlink.link(named: ifname) ?? podLink
        let result = CNIResult(
            interfaces: [CNIResult.Interface(name: ifname, mac: formatHardwareAddress(podLink.hardwareAddress),
                                             mtu: Int(podLink.mtu), sandbox: environment.netns, pciID: address.description)],
            ips: ipamResult.ips.map { CNIResult.IPConfig(address: $0.address, gateway: $0.gateway, interface: 0) },
            routes: ipamResult.routes,
            dns: ipamResult.dns.isEmpty ? (call.config.dns ?? CNIResult.DNS()) : ipamResult.dns)
        record.phase = "added"
        record.result = result.json(version: CNIVersion.current)
        try state.write(record.fileName, record.json)
        try checkpoint(.persistState)
        logger.info("attached VF \(address) (\(originalName)) as \(ifname) in \(environment.netns)"
                    + (rdmaDevice.map { " with RDMA device \($0.entry.name)" } ?? ""))
        return result
    }

    /// Checks the RDMA netns mode and finds the device's index. Shared mode cannot
    /// isolate an RDMA device: fail before touching anything.
    private func prepareRDMAMove(_ name: String, hostNamespace: NetworkNamespace) throws -> (entry: RDMADeviceEntry, netlink: RDMANetlink) {
        let netlink: RDMANetlink
        let mode: RDMANetnsMode
        do {
            netlink = try RDMANetlink(in: hostNamespace)
            mode = try netlink.netnsMode()
        } catch let error as NetlinkError {
            throw RDMAIsolationError.netnsModeUnreadable(device: name, error)
        }
        guard mode == .exclusive else { throw RDMAIsolationError.sharedNetnsMode(device: name, vf: conf.deviceID) }
        guard let entry = try netlink.devices().first(where: { $0.name == name }) else {
            throw RDMAIsolationError.notVisible(device: name, vf: conf.deviceID)
        }
        return (entry, netlink)
    }

    /// Addresses from IPAM, then routes (a route's gateway defaults to the gateway of
    /// the first address of its family), as the reference plugins' ConfigureIface does.
    private func configureIP(_ result: CNIResult, link: LinkInfo, netlink: RouteNetlink, rollback: inout Rollback) throws {
        let ifname = link.name
        var gateways: [Bool: IPAddress] = [:]  // keyed by isIPv4
        for ip in result.ips {
            guard let prefix = IPPrefix(ip.address) else {
                throw CNIError(.ipamFailed, "IPAM returned address \(ip.address), which is not in CIDR form")
            }
            if let text = ip.gateway {
                guard let gateway = IPAddress(text) else { throw CNIError(.ipamFailed, "IPAM returned gateway \(text), which is not an IP address") }
                if gateways[gateway.isIPv4] == nil { gateways[gateway.isIPv4] = gateway }
            }
            rollback.register("remove address \(prefix) from \(ifname)") {
                if let current = try netlink.link(named: ifname),
                   try netlink.addresses(index: current.index).contains(where: { $0.prefix == prefix }) {
                    try netlink.deleteAddress(prefix, index: current.index, device: ifname)
                }
            }
            try netlink.addAddress(prefix, index: link.index, device: ifname)
        }
        for route in result.routes {
            guard let destination = IPPrefix(route.dst) else {
                throw CNIError(.ipamFailed, "IPAM returned route destination \(route.dst), which is not in CIDR form")
            }
            var gateway: IPAddress?
            if let text = route.gw {
                guard let parsed = IPAddress(text) else { throw CNIError(.ipamFailed, "IPAM returned route gateway \(text), which is not an IP address") }
                gateway = parsed
            } else {
                gateway = gateways[destination.address.isIPv4]
            }
            let info = RouteInfo(destination: destination, gateway: gateway,
                                 table: route.table.map { UInt32(clamping: $0) } ?? 254,
                                 priority: route.priority.map { UInt32(clamping: $0) },
                                 mtu: route.mtu.map { UInt32(clamping: $0) }, advmss: route.advmss.map { UInt32(clamping: $0) },
                                 scope: route.scope.map { UInt8(clamping: $0) })
            try netlink.addRoute(info, index: link.index, device: ifname)
        }
    }

    private func settings(_ kind: VFSettingKind, original: VirtualFunctionInfo) -> (desired: VFSetting, original: VFSetting?) {
        switch kind {
        case .vlan:
            return (.vlan(VFVLAN(id: conf.vlan ?? 0, qos: conf.vlanQoS ?? 0, proto: conf.vlanProto ?? VFVLAN.protocol8021Q)),
                    .vlan(original.vlan))
        case .mac:
            return (.mac(conf.mac?.bytes ?? original.mac), .mac(original.mac))
        case .rate:
            return (.rate(min: conf.minTxRate ?? original.minTxRate, max: conf.maxTxRate ?? original.maxTxRate),
                    .rate(min: original.minTxRate, max: original.maxTxRate))
        case .spoofCheck:
            return (.spoofCheck(conf.spoofCheck ?? true), original.spoofCheck.map(VFSetting.spoofCheck))
        case .trust:
            return (.trust(conf.trust ?? false), original.trust.map(VFSetting.trust))
        case .linkState:
            return (.linkState(conf.linkState ?? .auto), original.linkState.map(VFSetting.linkState))
        }
    }

    private func step(for kind: VFSettingKind) -> ADDStep {
        switch kind {
        case .vlan: .vfVLAN
        case .mac: .vfMAC
        case .rate: .vfRate
        case .spoofCheck: .vfSpoofCheck
        case .trust: .vfTrust
        case .linkState: .vfLinkState
        }
    }
}
