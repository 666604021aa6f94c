import CNI
import HostDevices
import Netlink

/// What ADD found before changing anything: the two namespaces, the VF netdev as it is
/// in the host, the PF's view of the VF and the RDMA device to move. Every undo
/// returns the VF to what is recorded here.
struct AttachPlan {
    var address: PCIAddress
    /// The name the VF gets in the pod (CNI_IFNAME).
    var ifname: String
    var podNamespace: NetworkNamespace
    var podNetlink: RouteNetlink
    var hostNamespace: NetworkNamespace
    var hostNetlink: RouteNetlink
    /// The VF netdev in the host namespace.
    var hostLink: LinkInfo
    var pf: PF?
    var rdmaDevice: RDMAMove?
    /// An IPoIB netdev: moving the RDMA device recreates it in the host namespace (a
    /// new ifindex), so the netdev is looked up again before it moves.
    var netdevRecreatedByRDMAMove = false

    /// The VF's PF, and the VF's entry in its VF table before ADD.
    struct PF {
        var handle: PFHandle
        var linkIndex: Int32
        var originalVF: VirtualFunctionInfo
    }

    struct RDMAMove {
        var entry: RDMADeviceEntry
        /// The RDMA netlink of the host namespace, where the device is now.
        var netlink: RDMANetlink

        /// Checks the RDMA netns mode and finds the device's index. Shared mode cannot
        /// isolate an RDMA device: fail before touching anything.
        static func prepare(_ name: String, vf: PCIAddress, hostNamespace: NetworkNamespace) throws -> RDMAMove {
            let netlink: RDMANetlink
            let mode: RDMANetnsMode
            do {
                netlink = try RDMANetlink(in: hostNamespace)
                mode = try netlink.netnsMode()
            } catch let error as NetlinkError {
                throw RDMAIsolationError.netnsModeUnreadable(device: name, error)
            }
            guard mode == .exclusive else { throw RDMAIsolationError.sharedNetnsMode(device: name, vf: vf) }
            guard let entry = try netlink.devices().first(where: { $0.name == name }) else {
                throw RDMAIsolationError.notVisible(device: name, vf: vf)
            }
            return RDMAMove(entry: entry, netlink: netlink)
        }
    }

    /// The MAC the VF netdev should get on its own, nil when it has it already.
    func netdevMAC(_ conf: SRIOVNetConf) -> [UInt8]? {
        guard let mac = conf.mac, mac.bytes != hostLink.hardwareAddress else { return nil }
        return mac.bytes
    }
}

extension AttachVF {
    /// Where the VF is now, with the checks of the config against it.
    func locateVF() throws -> VFLocation {
        let address = conf.deviceID
        guard let location = try VFLocation.locate(address, roots: host.roots) else {
            throw CNIError(.deviceOperationFailed, "VF \(address) (\(conf.deviceIDSource)) does not exist on this node")
        }
        // An InfiniBand network checks its device's link layer first (attachInfiniBand).
        if conf.needsPF && location.pf == nil && conf.infiniBand == nil {
            throw CNIError(.invalidNetworkConfig, "device \(address) is not an SR-IOV VF (it has no physfn), so "
                           + "vlan, spoofchk, trust, link_state and rates cannot be set through a PF")
        }
        return location
    }

    /// The PF's view of the VF, recorded before any change.
    func pfEntry(_ location: VFLocation, hostNetlink: RouteNetlink) throws -> AttachPlan.PF? {
        guard let handle = location.pf else { return nil }
        guard let link = try hostNetlink.link(named: handle.netdev) else {
            throw CNIError(.deviceOperationFailed, "PF \(handle.netdev) of VF \(location.address) is not in the host namespace")
        }
        let table = try hostNetlink.virtualFunctions(ofPF: link.index, device: handle.netdev)
        guard let entry = table.first(where: { $0.index == handle.vfIndex }) else {
            throw CNIError(.deviceOperationFailed, "PF \(handle.netdev) reports no VF \(handle.vfIndex) for \(location.address)",
                           details: "its VF table has \(table.count) entries")
        }
        return AttachPlan.PF(handle: handle, linkIndex: link.index, originalVF: entry)
    }

    /// What the netdev VF looks like, with every check that can fail before the first
    /// change. `pf`: the PF's view when the caller has it, or has no use for it
    /// (an InfiniBand VF that keeps its GUID); by default it is read here.
    func inspect(_ location: VFLocation, podNamespace: NetworkNamespace, podNetlink: RouteNetlink,
                 hostNamespace: NetworkNamespace, pf knownPF: AttachPlan.PF?? = .none) throws -> AttachPlan {
        let address = location.address
        guard let netdevName = location.netdev else {
            throw CNIError(.deviceOperationFailed, "VF \(address) has no network interface in the host namespace",
                           details: "driver \(location.driver ?? "none"); bind it to its kernel network driver, "
                               + "or to a userspace driver (\(UserspaceDriver.known.joined(separator: ", "))) for DPDK mode")
        }
        let hostNetlink = try RouteNetlink(in: hostNamespace)
        guard let hostLink = try hostNetlink.link(named: netdevName), hostLink.name == netdevName else {
            throw CNIError(.deviceOperationFailed, "VF \(address) netdev \(netdevName) vanished from the host namespace")
        }
        if let parent = hostLink.parentDeviceName, hostLink.parentBusName == "pci", parent != address.description {
            throw CNIError(.deviceOperationFailed, "netdev \(netdevName) belongs to \(parent), not to VF \(address)")
        }

        let pf = try knownPF ?? pfEntry(location, hostNetlink: hostNetlink)

        // RDMA isolation is checked before the first change, so a shared-mode host fails cleanly.
        var rdmaDevice: AttachPlan.RDMAMove?
        if let name = location.rdmaDevices.first {
            if location.rdmaDevices.count > 1 {
                call.logger.warning("VF \(address) has several RDMA devices (\(location.rdmaDevices.joined(separator: ", "))); moving \(name)")
            }
            if conf.rdmaIsolation {
                rdmaDevice = try AttachPlan.RDMAMove.prepare(name, vf: conf.deviceID, hostNamespace: hostNamespace)
            } else {
                call.logger.info("rdmaIsolation is off: RDMA device \(name) stays in the host namespace")
            }
        }
        return AttachPlan(address: address, ifname: call.environment.ifname, podNamespace: podNamespace, podNetlink: podNetlink,
                          hostNamespace: hostNamespace, hostNetlink: hostNetlink, hostLink: hostLink, pf: pf,
                          rdmaDevice: rdmaDevice)
    }
}
