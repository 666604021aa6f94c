import CNI
import HostDevices
import Netlink

/// ADD: moves the VF named by the config into the pod. The order follows sriov-cni
/// (lock, record, VF settings through the PF, netdev moved and renamed, IPAM) plus
/// the VF netdev's own MAC, RDMA isolation, MTU and state. Every change registers its
/// undo first; any failure undoes all completed changes and then reports what failed.
///
/// The phases: `inspect` finds everything without changing the host, `configureVF`
/// prepares the netdev and the PF's settings in the host, `moveIntoPod` moves the RDMA
/// device and the netdev, `configureInPod` sets MTU, state, IPAM and addresses there.
struct AttachVF {
    let call: CNICall
    let conf: SRIOVNetConf
    let host: AttachHost
    /// Tests: called after each step; throwing there simulates that step failing late.
    var faultInjection: ((ADDStep) throws -> Void)?

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
        // A temporary left by a killed call is swept by DEL and GC, not here: two
        // directory listings in every ADD for a file that is rarely there.
        let lock = try state.lock("locks/\(address).lock", timeout: host.lockTimeout, purpose: "VF \(address)")
        defer { withExtendedLifetime(lock) {} }

        var rollback = Rollback(faultInjection: faultInjection)
        do {
            try rollback.checkpoint(.lock)
            try claimAllocation(state: state, rollback: &rollback, hostNamespace: hostNamespace)
            let location = try locateVF()
            if let ib = conf.infiniBand {
                return try attachInfiniBand(location, ib: ib, ipam: ipam, state: state, rollback: &rollback,
                                            podNamespace: podNamespace, podNetlink: podNetlink, hostNamespace: hostNamespace)
            }
            if let driver = location.userspaceDriver {
                return try attachUserspace(location, driver: driver, ipam: ipam, state: state, rollback: &rollback)
            }
            let plan = try inspect(location, podNamespace: podNamespace, podNetlink: podNetlink, hostNamespace: hostNamespace)
            return try attach(plan, ipam: ipam, state: state, rollback: &rollback)
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
        try rollback.step(.allocate, undo: .init("remove the allocation record of \(conf.deviceID)") { try state.remove(file) }) {
            try state.write(file, AllocationRecord(containerID: environment.containerID, ifname: environment.ifname,
                                                   netns: environment.netns, network: call.config.name).json)
        }
    }

    /// The phases in order, between the state record written first (phase "adding")
    /// and rewritten with the result last (phase "added").
    /// `record`: the one an InfiniBand ADD wrote before its GUID change, with the
    /// netdev as it was before the rebind; else a new one from the plan.
    func attach(_ plan: AttachPlan, record existing: AttachmentRecord? = nil, ipam: PluginDelegate?, state: StateDirectory,
                rollback: inout Rollback) throws -> CNIResult {
        let environment = call.environment
        var record = existing ?? makeRecord(plan)
        record.rdma = plan.rdmaDevice.map { AttachmentRecord.RDMARecord(device: $0.entry.name, moved: true) }
        try rollback.step(.recordState, undo: .init("remove the state record") { [fileName = record.fileName] in
            try state.remove(fileName)
        }) {
            try state.write(record.fileName, record.json)
        }

        try configureVF(plan, rollback: &rollback)
        try moveIntoPod(plan, rollback: &rollback)
        let (podLink, ipamResult) = try configureInPod(plan, ipam: ipam, rollback: &rollback)

        let result = try complete(
            &record,
            interface: CNIResult.Interface(name: plan.ifname, mac: formatHardwareAddress(podLink.hardwareAddress),
                                           mtu: Int(podLink.mtu), sandbox: environment.netns, pciID: plan.address.description),
            ipam: ipamResult, state: state, rollback: rollback)
        call.logger.info("attached VF \(plan.address) (\(plan.hostLink.name)) as \(plan.ifname) in \(environment.netns)"
                         + (plan.rdmaDevice.map { " with RDMA device \($0.entry.name)" } ?? ""))
        return result
    }

    /// The record of a netdev VF before any change.
    func makeRecord(_ plan: AttachPlan) -> AttachmentRecord {
        let environment = call.environment
        return AttachmentRecord(
            network: call.config.name, containerID: environment.containerID, ifname: plan.ifname, netns: environment.netns,
            deviceID: plan.address, pf: plan.pf?.handle,
            host: AttachmentRecord.HostNetdev(name: plan.hostLink.name, mac: MACAddress(bytes: plan.hostLink.hardwareAddress),
                                              mtu: plan.hostLink.mtu, up: plan.hostLink.isUp, alias: plan.hostLink.alias),
            originalVF: plan.pf?.originalVF, appliedVF: plan.pf == nil ? [] : conf.vfSettings, ipamType: call.config.ipamType,
            rdma: plan.rdmaDevice.map { AttachmentRecord.RDMARecord(device: $0.entry.name, moved: true) })
    }

    /// ADD's last step: the result (the interface, IPAM's addresses and routes, DNS
    /// from IPAM or the config) is written into the record, whose phase becomes "added".
    func complete(_ record: inout AttachmentRecord, interface: CNIResult.Interface, ipam: CNIResult,
                  state: StateDirectory, rollback: Rollback) throws -> CNIResult {
        let result = CNIResult(
            interfaces: [interface],
            ips: ipam.ips.map { CNIResult.IPConfig(address: $0.address, gateway: $0.gateway, interface: 0) },
            routes: ipam.routes,
            dns: ipam.dns.isEmpty ? (call.config.dns ?? CNIResult.DNS()) : ipam.dns)
        record.phase = "added"
        record.result = result.json(version: CNIVersion.current)
        try state.write(record.fileName, record.json)
        try rollback.checkpoint(.persistState)
        return result
    }
}
