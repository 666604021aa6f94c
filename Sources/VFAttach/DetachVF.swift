import CNI
import HostDevices
import Netlink
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// DEL, and the restore that GC and a stale allocation share. DEL always releases
/// IPAM, then restores what ADD changed: the RDMA device, the VF settings in the PF,
/// and the netdev's name, MAC, MTU, alias and namespace. It succeeds when the pod
/// namespace, the state or the VF are already gone, and when called twice.
struct DetachVF {
    let call: CNICall
    let host: AttachHost
    let stateDir: String

    var state: StateDirectory { StateDirectory(path: stateDir) }

    /// The attachment's record; a corrupt record is logged and treated as missing.
    func loadRecord(containerID: String, ifname: String) throws -> AttachmentRecord? {
        let file = AttachmentRecord.fileName(containerID: containerID, ifname: ifname)
        do {
            guard let json = try state.read(file) else { return nil }
            return try AttachmentRecord(json: json, file: stateDir + "/" + file)
        } catch {
            call.logger.warning("ignoring state: \(error)")
            return nil
        }
    }

    func run() throws {
        let environment = call.environment
        let logger = call.logger
        let record = try loadRecord(containerID: environment.containerID, ifname: environment.ifname)
        let deviceID = record?.deviceID ?? SRIOVNetConf.deviceIDIfPresent(call.config.json)

        var lock: FileLock?
        if let deviceID {
            do {
                lock = try state.lock("locks/\(deviceID).lock", timeout: host.lockTimeout, purpose: "VF \(deviceID)")
            } catch let error where error.code == CNIError.Code.tryAgainLater.rawValue {
                throw error
            } catch {
                logger.warning("DEL continues without the VF lock: \(error)")
            }
        }
        defer { withExtendedLifetime(lock) {} }
        state.removeAbandonedTemporaries(in: ["attachments", "allocations"], logger: logger)

        // IPAM is released first and always: an address must not leak because the VF,
        // the namespace or our state is gone.
        // An ib-sriov network with DHCP never got an ADD through (refused, as by
        // ib-sriov-cni): there is no lease to release, and no daemon to ask.
        if let type = call.config.ipamType, !(type == "dhcp" && PluginType(call.config.type) == .ibSRIOV) {
            try PluginDelegate(type: type, environment: environment).delete(call.config)
        }

        let hostNamespace = try host.openNamespace()
        let netnsPath = environment.netns.isEmpty ? (record?.netns ?? "") : environment.netns
        let podNamespace = openIfAlive(netnsPath)

        guard let record else {
            logger.info("no state for this attachment: released IPAM, restoring what can be found")
            if let deviceID, let podNamespace {
                try returnWithoutState(deviceID: deviceID, podNamespace: podNamespace, hostNamespace: hostNamespace)
            }
            if let deviceID { try releaseAllocation(deviceID) }
            return
        }
        do {
            try restore(record, podNamespace: podNamespace, hostNamespace: hostNamespace,
                        netnsWasGiven: !netnsPath.isEmpty)
        } catch let error as NetdevUnreachable {
            // Nowhere to be found and not on its way back: keep the state so that GC or
            // the next ADD on this VF can finish the job, and let the runtime move on.
            logger.warning("\(error.description); keeping the state for GC")
            return
        }
        try state.remove(record.fileName)
        try releaseAllocation(record.deviceID)
        if let original = record.host {
            logger.info("detached VF \(record.deviceID): \(record.ifname) returned as \(original.name)")
        } else {
            logger.info("detached VF \(record.deviceID) on \(record.userspaceDriver ?? "a userspace driver"): VF settings restored")
        }
    }

    func openIfAlive(_ path: String) -> NetworkNamespace? {
        guard !path.isEmpty else { return nil }
        do {
            return try NetworkNamespace.open(path: path)
        } catch {
            // Gone (ENOENT), or a leftover mount point that is no longer a namespace.
            call.logger.info("pod netns \(path) is gone (\(error)); the kernel returns the VF to the host")
            return nil
        }
    }

    func releaseAllocation(_ deviceID: PCIAddress) throws {
        let file = AllocationRecord.fileName(deviceID)
        guard let json = try? state.read(file), let allocation = AllocationRecord(json: json) else {
            try? state.remove(file)
            return
        }
        if allocation.belongs(to: call.environment.containerID, call.environment.ifname) || call.environment.command == .gc {
            try state.remove(file)
        }
    }

    /// Puts back everything `record` says ADD changed. Failures that retrying could fix
    /// are thrown after every part has been tried.
    func restore(_ record: AttachmentRecord, podNamespace: NetworkNamespace?, hostNamespace: NetworkNamespace,
                 netnsWasGiven: Bool = true) throws {
        var failures: [String] = []
        func returnRDMA() {
            guard let rdma = record.rdma, rdma.moved, let podNamespace else { return }
            do {
                let podRDMA = try RDMANetlink(in: podNamespace)
                if let entry = try podRDMA.devices().first(where: { $0.name == rdma.device }) {
                    try podRDMA.moveDevice(index: entry.index, name: entry.name, to: hostNamespace)
                }
            } catch {
                failures.append("RDMA device \(rdma.device): \(error)")
            }
        }
        // An IPoIB netdev goes before its RDMA device, as in ib-sriov-cni: moving the
        // RDMA device recreates the netdev in the host namespace.
        if record.infiniBand == nil { returnRDMA() }
        if let driver = record.infiniBand?.rebindDriver, let location = try locate(record.deviceID), location.driver == nil {
            // A rebind cut short left the VF without a driver, and so without a netdev.
            call.logger.warning("VF \(record.deviceID) is bound to no driver: binding it to \(driver) again")
            do {
                try DriverRebind(roots: host.roots, state: state, address: record.deviceID, driver: driver)
                    .rebind(timeout: host.rebindTimeout)
            } catch {
                failures.append("rebind: \(error)")
            }
        }
        let hostNetlink = try RouteNetlink(in: hostNamespace)
        // Before the netdev moves: some drivers refuse a VF reset while it is in use
        // elsewhere with trust off (sriov-cni does the same).
        do {
            try restoreVFSettings(record, hostNetlink: hostNetlink)
        } catch {
            failures.append("VF settings: \(error)")
        }
        do {
            try returnNetdev(record, podNamespace: podNamespace, hostNamespace: hostNamespace, hostNetlink: hostNetlink,
                             netnsWasGiven: netnsWasGiven)
        } catch let error as NetdevUnreachable {
            guard !failures.isEmpty else { throw error }
            failures.append(error.description)
        } catch let error as CNIError where error.code == CNIError.Code.tryAgainLater.rawValue {
            throw error
        } catch {
            failures.append("netdev: \(error)")
        }
        if let infiniBand = record.infiniBand {
            returnRDMA()
            do {
                try restoreInfiniBand(record, infiniBand, hostNetlink: hostNetlink)
            } catch {
                failures.append("GUID: \(error)")
            }
        }
        guard failures.isEmpty else {
            throw CNIError(.deviceOperationFailed, "could not restore VF \(record.deviceID) (\(record.ifname))",
                           details: failures.joined(separator: "; "))
        }
    }

    func restoreVFSettings(_ record: AttachmentRecord, hostNetlink: RouteNetlink) throws {
        guard let pf = record.pf, let original = record.originalVF, !record.appliedVF.isEmpty else { return }
        var pfName = pf.netdev
        var pfLink = try hostNetlink.link(named: pfName)
        if pfLink == nil {
            // The PF was renamed since ADD: find it by PCI address.
            if let name = HostSnapshot.scan(roots: host.roots, functions: [pf.address]).pfName(of: pf.address) {
                pfName = name
                pfLink = try hostNetlink.link(named: name)
            }
        }
        guard let pfLink else {
            call.logger.warning("PF \(pf.address) is gone: VF \(pf.vfIndex) settings need no restore")
            return
        }
        let table = try hostNetlink.virtualFunctions(ofPF: pfLink.index, device: pfName)
        guard table.contains(where: { $0.index == pf.vfIndex }) else {
            call.logger.warning("PF \(pfName) has no VF \(pf.vfIndex) any more: nothing to restore")
            return
        }
        for kind in record.appliedVF.reversed() {
            let setting: VFSetting?
            switch kind {
            case .vlan: setting = .vlan(original.vlan)
            case .mac: setting = .mac(original.mac)
            case .rate: setting = .rate(min: original.minTxRate, max: original.maxTxRate)
            case .spoofCheck: setting = original.spoofCheck.map(VFSetting.spoofCheck)
            case .trust: setting = original.trust.map(VFSetting.trust)
            case .linkState: setting = original.linkState.map(VFSetting.linkState)
            }
            if let setting {
                try hostNetlink.setVirtualFunction(ofPF: pfLink.index, device: pfName, vf: pf.vfIndex, setting)
            }
        }
    }

    /// An InfiniBand VF's GUIDs back to what they were before ADD, then a rebind so
    /// that the VF takes them, and its netdev renamed back. A VF found unbound (a
    /// rebind that ADD or an earlier DEL did not finish) is bound again.
    func restoreInfiniBand(_ record: AttachmentRecord, _ infiniBand: AttachmentRecord.InfiniBandRecord,
                           hostNetlink: RouteNetlink) throws {
        guard infiniBand.guid != nil, let pf = record.pf else { return }
        var pfName = pf.netdev
        var pfLink = try hostNetlink.link(named: pfName)
        if pfLink == nil, let name = HostSnapshot.scan(roots: host.roots, functions: [pf.address]).pfName(of: pf.address) {
            pfName = name
            pfLink = try hostNetlink.link(named: name)
        }
        guard let pfLink else {
            call.logger.warning("PF \(pf.address) is gone: VF \(pf.vfIndex) GUIDs need no restore")
            return
        }
        try hostNetlink.setVirtualFunction(ofPF: pfLink.index, device: pfName, vf: pf.vfIndex,
                                           .nodeGUID(infiniBand.restoredNodeGUID.rawValue))
        try hostNetlink.setVirtualFunction(ofPF: pfLink.index, device: pfName, vf: pf.vfIndex,
                                           .portGUID(infiniBand.restoredPortGUID.rawValue))
        guard let driver = infiniBand.rebindDriver else { return }
        try DriverRebind(roots: host.roots, state: state, address: record.deviceID, driver: driver).rebind(timeout: host.rebindTimeout)
        // The rebind may name the netdev anew: the name before ADD comes back.
        guard let original = record.host, let name = try locate(record.deviceID)?.netdev, name != original.name,
              let link = try hostNetlink.link(named: name) else { return }
        try restoreInPlace(link, netlink: hostNetlink, record: record, original: original)
    }

    /// Whether `link` in the pod is this attachment's VF: its PCI parent when the
    /// kernel reports one, else the alias ADD left on it.
    func isAttachedVF(_ link: LinkInfo, deviceID: PCIAddress, hostName: String?) -> Bool {
        if let parent = link.parentDeviceName, link.parentBusName == "pci" { return parent == deviceID.description }
        if let hostName { return link.alias == hostName }
        return false
    }

    func returnNetdev(_ record: AttachmentRecord, podNamespace: NetworkNamespace?, hostNamespace: NetworkNamespace,
                      hostNetlink: RouteNetlink, netnsWasGiven: Bool) throws {
        // A VF on a userspace driver was never moved: nothing to return.
        guard let original = record.host else { return }
        if let podNamespace {
            let podNetlink = try RouteNetlink(in: podNamespace)
            if let link = try podNetlink.link(named: record.ifname), link.name == record.ifname,
               isAttachedVF(link, deviceID: record.deviceID, hostName: original.name) {
                try moveOut(link, from: podNetlink, hostNamespace: hostNamespace, hostNetlink: hostNetlink, record: record,
                            original: original)
                return
            }
        }
        // Not in the pod: in the host already (the kernel returns a physical netdev
        // from a destroyed namespace as devN), on its way back, or gone with the VF.
        var location = try locate(record.deviceID)
        guard location != nil else {
            call.logger.info("VF \(record.deviceID) no longer exists: nothing to return")
            return
        }
        if location?.netdev == nil, podNamespace == nil, netnsWasGiven, location?.driver != nil {
            let deadline = MonotonicInstant.now + host.netdevReturnTimeout
            while location?.netdev == nil, MonotonicInstant.now < deadline {
                sleepBlocking(for: .milliseconds(20))
                location = try locate(record.deviceID)
            }
            if location != nil, location?.netdev == nil {
                throw CNIError(.tryAgainLater, "VF \(record.deviceID) has not come back from its destroyed netns \(record.netns) yet",
                               details: "waited \(host.netdevReturnTimeout.inSeconds) s")
            }
        }
        guard let location, let name = location.netdev else {
            throw NetdevUnreachable(description: "VF \(record.deviceID) netdev is neither in \(record.netns) nor in the host namespace")
        }
        guard let link = try hostNetlink.link(named: name) else { return }
        try restoreInPlace(link, netlink: hostNetlink, record: record, original: original)
    }

    /// Pod → host in one request that also renames the link back (the kernel does the
    /// rename inside the host namespace, see AttachVF), then MAC and up state there.
    private func moveOut(_ link: LinkInfo, from podNetlink: RouteNetlink, hostNamespace: NetworkNamespace,
                         hostNetlink: RouteNetlink, record: AttachmentRecord, original: AttachmentRecord.HostNetdev) throws {
        // A host link already holding the name would make the rename fail after the move.
        if let holder = try hostNetlink.link(named: original.name) {
            throw CNIError(.deviceOperationFailed, "cannot return \(link.name) to the host as \(original.name)",
                           details: "ifindex \(holder.index) (\(holder.name)) holds that name in the host namespace")
        }
        // Down first, as ADD does before its move: the kernel closes an up link inside the
        // move anyway, and there it cost DEL about 1 ms more on average (issue #19).
        if link.isUp { try podNetlink.setLink(index: link.index, device: link.name, LinkChange(up: false)) }
        var change = LinkChange(name: original.name, namespace: hostNamespace)
        if link.mtu != original.mtu { change.mtu = original.mtu }
        if link.alias != original.alias { change.alias = original.alias ?? "" }
        try podNetlink.setLink(index: link.index, device: link.name, change)
        guard let returned = try hostNetlink.link(named: original.name) else {
            throw CNIError(.deviceOperationFailed, "\(original.name) did not arrive in the host namespace")
        }
        try restoreInPlace(returned, netlink: hostNetlink, record: record, original: original)
    }

    /// Name, MAC, MTU, alias and up state back to the recorded values, where the link is.
    private func restoreInPlace(_ link: LinkInfo, netlink: RouteNetlink, record: AttachmentRecord,
                                original: AttachmentRecord.HostNetdev, bringUp: Bool = true) throws {
        if link.isUp { try netlink.setLink(index: link.index, device: link.name, LinkChange(up: false)) }
        // udev may have given the returning netdev its old name as an alternative name,
        // which blocks the rename to that very name (EEXIST).
        if link.name != original.name, link.altNames.contains(original.name) {
            try netlink.removeAltName(original.name, index: link.index, device: link.name)
        }
        var change = LinkChange()
        if link.name != original.name { change.name = original.name }
        if link.mtu != original.mtu { change.mtu = original.mtu }
        if link.alias != original.alias { change.alias = original.alias ?? "" }
        if change.name != nil || change.mtu != nil || change.alias != nil {
            try netlink.setLink(index: link.index, device: link.name, change)
        }
        // An IPoIB address follows from the port GUID, which restoreInfiniBand puts back.
        if link.hardwareAddress != original.mac.bytes, record.infiniBand == nil {
            try setVFNetdevMAC(original.mac.bytes, linkIndex: link.index, device: original.name, netlink: netlink,
                               pf: record.pf, trusted: record.originalVF?.trust ?? false)
        }
        if let renamed = try netlink.link(index: link.index), renamed.altNames.contains(record.ifname) {
            try netlink.removeAltName(record.ifname, index: link.index, device: original.name)
        }
        if bringUp && original.up {
            try netlink.setLink(index: link.index, device: original.name, LinkChange(up: true))
        }
    }

    /// DEL with no state: the VF is recognised by its PCI parent only, and named back
    /// from the alias ADD left on it.
    private func returnWithoutState(deviceID: PCIAddress, podNamespace: NetworkNamespace, hostNamespace: NetworkNamespace) throws {
        let ifname = call.environment.ifname
        let podNetlink = try RouteNetlink(in: podNamespace)
        guard let link = try podNetlink.link(named: ifname), link.name == ifname else { return }
        guard isAttachedVF(link, deviceID: deviceID, hostName: nil), let alias = link.alias else {
            call.logger.info("\(ifname) in \(podNamespace.name) is not recognisably VF \(deviceID); leaving it")
            return
        }
        let original = AttachmentRecord.HostNetdev(name: alias, mac: MACAddress(bytes: link.hardwareAddress), mtu: link.mtu,
                                                   up: false, alias: nil)
        let record = AttachmentRecord(
            network: call.config.name, containerID: call.environment.containerID, ifname: ifname, netns: podNamespace.name,
            deviceID: deviceID, pf: nil, host: original, originalVF: nil, ipamType: nil)
        try moveOut(link, from: podNetlink, hostNamespace: hostNamespace, hostNetlink: try RouteNetlink(in: hostNamespace), record: record,
                    original: original)
        call.logger.info("returned \(ifname) to the host as \(alias) without state (VF settings not restored)")
    }

    private func locate(_ address: PCIAddress) throws -> VFLocation? {
        do {
            return try VFLocation.locate(address, roots: host.roots)
        } catch {
            throw error.cniError
        }
    }
}

/// The VF netdev could not be found anywhere DEL can look.
struct NetdevUnreachable: Error, CustomStringConvertible {
    var description: String
}
