import CNI
import Netlink

extension AttachVF {
    /// The RDMA device, then the netdev, from the host namespace into the pod's, where
    /// the netdev arrives under its pod name.
    func moveIntoPod(_ plan: AttachPlan, rollback: inout Rollback) throws {
        let (podNetlink, hostNetlink) = (plan.podNetlink, plan.hostNetlink)
        let (podNamespace, hostNamespace) = (plan.podNamespace, plan.hostNamespace)
        let ifname = plan.ifname

        // The RDMA device goes before the netdev, as in ib-sriov-cni: a soft-RoCE device
        // is deleted by the kernel when its netdev leaves, so a device that cannot move
        // must be found out while nothing has moved yet.
        try rollback.step(.moveRDMA) { rollback in
            guard let rdma = plan.rdmaDevice else { return }
            let device = rdma.entry.name
            try rollback.change(undo: .init("move RDMA device \(device) back to the host namespace") {
                let podRDMA = try RDMANetlink(in: podNamespace)
                if let entry = try podRDMA.devices().first(where: { $0.name == device }) {
                    try podRDMA.moveDevice(index: entry.index, name: entry.name, to: hostNamespace)
                }
            }) {
                do {
                    try rdma.netlink.moveDevice(index: rdma.entry.index, name: device, to: podNamespace)
                } catch let error as NetlinkError {
                    throw RDMAIsolationError.moveRefused(device: device, vf: plan.address, error)
                }
            }
        }

        let hostLink = try netdevToMove(plan)
        let originalName = hostLink.name

        // A stale alternative name equal to the pod's name would block the rename
        // (sriov-cni#445): drop it while the link is still in the host.
        try rollback.step(.removeStaleAltNames) { rollback in
            for stale in hostLink.altNames where stale == ifname {
                try rollback.change(undo: .init("restore alternative name \(stale) of \(originalName)") {
                    if let link = try hostNetlink.link(named: originalName), link.name == originalName, !link.altNames.contains(stale) {
                        try hostNetlink.addAltName(stale, index: link.index, device: originalName)
                    }
                }) {
                    try hostNetlink.removeAltName(stale, index: hostLink.index, device: originalName)
                }
            }
        }

        // Move and rename in one request (IFLA_NET_NS_FD with IFLA_IFNAME): the kernel
        // renames the link inside the pod namespace under the same RTNL hold, and takes
        // the new name at once if the old one is taken there. So the link is never
        // renamed in the host (the udev and NetworkManager races of plugins PR #1073),
        // never clashes with the pod's names (sriov-cni#40, plugins#1002), and costs one
        // namespace switch instead of the two a temporary namespace needs. The alias keeps
        // the host name on the link itself (as host-device does), so a DEL without state
        // can still name it back.
        try rollback.step(.moveToPodNetns, undo: .init("move \(ifname) back to the host namespace as \(originalName)") {
            if let link = try podNetlink.link(named: ifname), link.name == ifname {
                try podNetlink.setLink(index: link.index, device: ifname,
                                       LinkChange(name: originalName, alias: hostLink.alias ?? "", namespace: hostNamespace))
                // Kernels that keep an old name as an alternative name would keep ifname.
                if let returned = try hostNetlink.link(named: originalName), returned.altNames.contains(ifname) {
                    try hostNetlink.removeAltName(ifname, index: returned.index, device: originalName)
                }
            }
        }) {
            try hostNetlink.setLink(index: hostLink.index, device: originalName,
                                    LinkChange(name: ifname, alias: originalName, namespace: podNamespace))
        }
    }

    /// The VF netdev as it is now: the plan's, or for an IPoIB netdev whose RDMA device
    /// moved, the one the kernel recreated in the host namespace (ib-sriov-cni moves
    /// the RDMA device first for this reason).
    private func netdevToMove(_ plan: AttachPlan) throws -> LinkInfo {
        guard plan.netdevRecreatedByRDMAMove, plan.rdmaDevice != nil else { return plan.hostLink }
        guard let name = try VFLocation.locate(plan.address, roots: host.roots)?.netdev,
              let link = try plan.hostNetlink.link(named: name) else {
            throw CNIError(.deviceOperationFailed, "VF \(plan.address) has no IPoIB netdev in the host after its RDMA device moved")
        }
        return link
    }
}
