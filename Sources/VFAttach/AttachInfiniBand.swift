import CNI
import HostDevices
import Netlink
import SystemSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// ADD of a `"type": "ib-sriov"` network (ib-sriov-cni's plugin): an InfiniBand VF
/// gets its GUID through its PF and its IPoIB netdev moves into the pod; on vfio-pci
/// only the GUID is set. Compared with ib-sriov-cni:
/// - A VF without a usable GUID (all zeros: network-operator #1825) fails before any
///   change with a message that says what to do, or, with `assignGUID`, gets a GUID
///   derived from its PF's node GUID and VF index.
/// - No lock serialises every call: the VF's own lock covers the ADD, and a node-wide
///   lock covers only the driver unbind and bind, so that the kernel gives the VF back
///   the RDMA device and uverbs numbers the device plugin handed out. The numbers
///   are compared after the rebind and a change is said.
/// - The GUID, the rebind and every later step are undone when a later step fails,
///   and DEL rebinds a VF it finds unbound (a rebind cut short).
extension AttachVF {
    func attachInfiniBand(_ location: VFLocation, ib: InfiniBandConf, ipam: PluginDelegate?, state: StateDirectory,
                          rollback: inout Rollback, podNamespace: NetworkNamespace, podNetlink: RouteNetlink,
                          hostNamespace: NetworkNamespace) throws -> CNIResult {
        let address = location.address
        try checkInfiniBandLinkLayer(location)
        try ib.checkIBKubernetes(call.environment, isVF: location.pf != nil)
        if ib.vfioPciMode, location.driver != "vfio-pci" {
            throw CNIError(.invalidNetworkConfig, "vfioPciMode is set, but \(address) is bound to \(location.driver ?? "no driver")",
                           details: "bind it to vfio-pci, or remove vfioPciMode for an IPoIB netdev")
        }
        let userspace = location.userspaceDriver
        if location.pf == nil, userspace == nil {
            throw CNIError(.invalidNetworkConfig, "device \(address) is not an SR-IOV VF (it has no physfn)",
                           details: "an InfiniBand PF is passed to a pod only bound to vfio-pci (vfioPciMode)")
        }
        if conf.linkState != nil, location.pf == nil {
            throw CNIError(.invalidNetworkConfig, "link_state needs a VF: \(address) has no PF to set it through")
        }
        let hostNetlink = try RouteNetlink(in: hostNamespace)
        // The PF's VF table is read when a change goes through it, or when it is the
        // only place the VF's GUID shows (no IPoIB netdev): a VF that keeps its GUID
        // needs nothing of its PF.
        var pf: AttachPlan.PF?
        var current = location.portGUID
        if current == nil, location.pf != nil {
            pf = try pfEntry(location, hostNetlink: hostNetlink)
            current = pf?.originalVF.portGUID.map(InfiniBandGUID.init(rawValue:))
        }
        let target = try guidToApply(location, current: current, ib: ib)
        if pf == nil, target != nil || conf.linkState != nil { pf = try pfEntry(location, hostNetlink: hostNetlink) }
        if let pkey = ib.pkey { checkPartition(pkey, location: location) }

        var identity = AttachmentRecord.InfiniBandRecord(
            originalNodeGUID: pf?.originalVF.nodeGUID.map(InfiniBandGUID.init(rawValue:)) ?? location.portGUID,
            originalPortGUID: pf?.originalVF.portGUID.map(InfiniBandGUID.init(rawValue:)) ?? location.portGUID,
            guid: target, rebindDriver: userspace == nil && target != nil ? location.driver : nil, pkey: ib.pkey)

        if let driver = userspace {
            // vfio-pci: the GUID through the PF without a rebind (the VF's driver is the
            // pod's program), nothing moved, IPAM allocates.
            return try attachUserspace(location, driver: driver, ipam: ipam, state: state, rollback: &rollback,
                                       infiniBand: identity) { rollback in
                if let target, let pf { try self.applyGUID(target, pf: pf, hostNetlink: hostNetlink, identity: identity,
                                                           location: location, state: state, rollback: &rollback) }
            }
        }

        var plan = try inspect(location, podNamespace: podNamespace, podNetlink: podNetlink, hostNamespace: hostNamespace,
                               pf: .some(pf))
        var record = makeRecord(plan)
        record.infiniBand = identity
        try rollback.step(.recordState, undo: .init("remove the state record") { [fileName = record.fileName] in
            try state.remove(fileName)
        }) {
            try state.write(record.fileName, record.json)
        }
        if let target, let pf {
            let after = try applyGUID(target, pf: pf, hostNetlink: hostNetlink, identity: identity, location: location,
                                      state: state, rollback: &rollback)
            plan = try inspect(after, podNamespace: podNamespace, podNetlink: podNetlink, hostNamespace: hostNamespace,
                               pf: .some(pf))
            identity.rebound = true
            record.infiniBand = identity
        }
        plan.netdevRecreatedByRDMAMove = true
        return try attach(plan, record: record, ipam: ipam, state: state, rollback: &rollback)
    }

    /// ib-sriov is for InfiniBand: an Ethernet VF (or a VF of an Ethernet PF) under it
    /// would get a GUID request its driver cannot apply and a config whose keys mean nothing.
    func checkInfiniBandLinkLayer(_ location: VFLocation) throws {
        if let type = location.netdevLinkType, type != 32 {
            throw CNIError(.invalidNetworkConfig,
                           "VF \(location.address) netdev \(location.netdev ?? "") has link type \(linkTypeName(type)), not InfiniBand",
                           details: "type ib-sriov serves InfiniBand VFs (IPoIB netdevs); use type sriov for Ethernet VFs")
        }
        if location.netdevLinkType == nil, let layers = location.rdmaLinkLayers, !layers.isEmpty, !layers.contains("InfiniBand") {
            throw CNIError(.invalidNetworkConfig,
                           "the RDMA device of \(location.address) has link layer \(layers.joined(separator: ", ")), not InfiniBand",
                           details: "type ib-sriov serves InfiniBand VFs; use type sriov for Ethernet VFs")
        }
    }

    private func linkTypeName(_ type: Int) -> String {
        NetworkInterface(name: "", linkType: type).linkTypeName
    }

    /// The GUID ADD sets: the network's, else one derived with `assignGUID` when the
    /// VF has none; nil when the VF keeps its own, usable one. A VF without a usable
    /// GUID and no way to give it one fails here, before anything changes.
    func guidToApply(_ location: VFLocation, current: InfiniBandGUID?, ib: InfiniBandConf) throws -> InfiniBandGUID? {
        let address = location.address
        let pf = location.pf
        if let guid = ib.guid {
            guard pf != nil else {
                throw CNIError(.invalidNetworkConfig, "\(ib.guidSource ?? "guid") \(guid) needs a VF: \(address) has no PF to set it through")
            }
            return guid
        }
        guard let current, !current.isAssignable else {
            if current == nil { call.logger.info("the GUID of \(address) cannot be read here (no IPoIB netdev, not in the PF's VF table)") }
            return nil
        }
        if ib.assignGUID, let pf, let pfGUID = location.pfNodeGUID, pfGUID.isAssignable {
            let derived = InfiniBandGUID.derived(pf: pfGUID, vfIndex: pf.vfIndex)
            call.logger.info("VF \(address) has GUID \(current); assigning \(derived) (assignGUID, from PF node GUID \(pfGUID) and VF \(pf.vfIndex))")
            return derived
        }
        throw CNIError(.invalidNetworkConfig, "VF \(address) has no usable GUID (\(current)) and the network gives it none",
                       details: "a subnet manager rejects this port (network-operator #1825). Give the network a GUID: "
                           + "runtimeConfig.infinibandGUID (ib-kubernetes, the infinibandGUID capability), CNI_ARGS guid=, "
                           + "or \"guid\" in the config; or set \"assignGUID\": true to derive one from the PF"
                           + (ib.assignGUID ? " (assignGUID is set, but the PF's node GUID could not be read)" : ""))
    }

    /// ib-sriov-cni leaves P_Keys to the subnet manager (through ib-kubernetes); so does
    /// this plugin, and it says when the VF's P_Key table does not hold the partition yet.
    func checkPartition(_ pkey: PartitionKey, location: VFLocation) {
        guard let device = location.rdmaDevices.first else { return }
        // The whole table of port 1 (a scan reads only slot 0).
        let directory = host.roots.sysRoot + "/class/infiniband/\(device)/ports/1/pkeys"
        guard let slots = try? listDirectory(directory) else { return }
        let table = slots.compactMap(Int.init).sorted().compactMap { slot in
            (try? readFile(directory + "/\(slot)")).flatMap { PartitionKey(String(decoding: $0.filter { $0 > 32 }, as: UTF8.self)) }
        }.filter { $0.partition != 0 }
        if !table.contains(where: { $0.partition == pkey.partition }) {
            call.logger.warning("pkey \(pkey): the P_Key table of \(location.address) (\(table.map(\.description).joined(separator: " "))) "
                                + "does not hold partition 0x\(String(pkey.partition, radix: 16)) yet; the subnet manager "
                                + "(ib-kubernetes) adds it, this plugin does not program P_Keys")
        }
    }

    /// Node GUID, then port GUID, through the PF, then (for a kernel driver) the VF's
    /// driver unbound and bound again so that it takes them. Returns where the VF is
    /// afterwards. The undo sets the original GUIDs back (all ones for all zeros, as
    /// ib-sriov-cni) and rebinds again.
    @discardableResult
    func applyGUID(_ guid: InfiniBandGUID, pf: AttachPlan.PF, hostNetlink: RouteNetlink, identity: AttachmentRecord.InfiniBandRecord,
                   location: VFLocation, state: StateDirectory, rollback: inout Rollback) throws -> VFLocation {
        let (netdev, vf, index) = (pf.handle.netdev, pf.handle.vfIndex, pf.linkIndex)
        let done = GUIDProgress()
        try rollback.step(.vfGUID, undo: .init("restore the GUIDs of VF \(vf) on \(netdev)") {
            guard done.nodeSet else { return }
            try hostNetlink.setVirtualFunction(ofPF: index, device: netdev, vf: vf, .nodeGUID(identity.restoredNodeGUID.rawValue))
            if done.portSet {
                try hostNetlink.setVirtualFunction(ofPF: index, device: netdev, vf: vf, .portGUID(identity.restoredPortGUID.rawValue))
            }
            if done.rebound, let driver = identity.rebindDriver {
                try DriverRebind(roots: host.roots, state: state, address: location.address, driver: driver).rebind(timeout: host.rebindTimeout)
            }
        }) {
            do {
                try hostNetlink.setVirtualFunction(ofPF: index, device: netdev, vf: vf, .nodeGUID(guid.rawValue))
            } catch let error as NetlinkError where error.errno == EOPNOTSUPP {
                throw CNIError(.deviceOperationFailed, "the driver of PF \(netdev) cannot set VF GUIDs (EOPNOTSUPP)",
                               details: "\(error); VF GUIDs are set on InfiniBand VFs (mlx5 in InfiniBand mode): "
                                   + "is \(location.address) an InfiniBand VF?")
            }
            done.nodeSet = true
            try hostNetlink.setVirtualFunction(ofPF: index, device: netdev, vf: vf, .portGUID(guid.rawValue))
            done.portSet = true
        }
        guard let driver = identity.rebindDriver else { return location }
        let before = location.rdmaDevices
        try rollback.step(.rebind) { _ in
            done.rebound = true
            try DriverRebind(roots: host.roots, state: state, address: location.address, driver: driver).rebind(timeout: host.rebindTimeout)
        }
        guard let after = try VFLocation.locate(location.address, roots: host.roots), after.netdev != nil else {
            throw CNIError(.deviceOperationFailed, "VF \(location.address) has no netdev after its \(driver) rebind")
        }
        if after.rdmaDevices != before {
            call.logger.warning("VF \(location.address) came back from its rebind with RDMA devices "
                                + "\(after.rdmaDevices.joined(separator: ", ")), was \(before.joined(separator: ", "))")
        }
        return after
    }
}

/// Which of the GUID changes went through, for their undo.
private final class GUIDProgress {
    var nodeSet = false
    var portSet = false
    var rebound = false
}

/// The driver unbind and bind that mlx5 needs before a VF takes a new GUID
/// (sriovnet's UnbindVf/BindVf): the VF's address written to the driver's `unbind`,
/// then to its `bind`, under a node-wide lock held for those two writes only, so
/// that concurrent rebinds cannot trade RDMA device numbers. Then it waits for the
/// VF's netdev to come back.
struct DriverRebind {
    var roots: HostRoots
    var state: StateDirectory
    var address: PCIAddress
    var driver: String

    func rebind(timeout: Duration) throws {
        let driverDir = roots.sysRoot + "/bus/pci/drivers/" + driver
        try withRebindLock {
            // A VF found unbound (a rebind cut short) is only bound.
            if access(roots.sysRoot + "/bus/pci/devices/\(address)/driver", F_OK) == 0 {
                try write(address.description, to: driverDir + "/unbind", what: "unbind \(address) from \(driver)")
            }
            try write(address.description, to: driverDir + "/bind", what: "bind \(address) to \(driver)")
        }
        let deadline = MonotonicInstant.now + timeout
        while MonotonicInstant.now < deadline {
            if let location = try? VFLocation.locate(address, roots: roots), location.netdev != nil { return }
            sleepBlocking(for: .milliseconds(20))
        }
        throw CNIError(.deviceOperationFailed, "VF \(address) has no netdev \(timeout.inSeconds) s after binding it to \(driver)")
    }

    private func withRebindLock(_ body: () throws -> Void) throws {
        let lock = try state.lock("locks/rebind.lock", timeout: .seconds(60), purpose: "driver rebinds")
        defer { withExtendedLifetime(lock) {} }
        try body()
    }

    private func write(_ text: String, to path: String, what: String) throws {
        do {
            let descriptor = try FileDescriptor.open(path, O_WRONLY | O_CLOEXEC)
            try descriptor.closeAfter { () throws(Errno) in try descriptor.writeAll(Array(text.utf8)) }
        } catch {
            throw CNIError(.deviceOperationFailed, "cannot \(what)", details: "\(path): \(error)")
        }
    }
}
