import Netlink

extension AttachVF {
    /// The VF in the host namespace: its netdev down, then its own MAC, then the VF
    /// settings through the PF. The netdev's own MAC comes before the PF sets the
    /// administrative one: igb takes a PF-set MAC on the VF only after a driver rebind,
    /// and refuses the VF's own change once the PF has set one.
    func configureVF(_ plan: AttachPlan, rollback: inout Rollback) throws {
        let hostNetlink = plan.hostNetlink
        let hostLink = plan.hostLink
        let name = hostLink.name
        let trusted = plan.pf?.originalVF.trust ?? false

        try rollback.step(.linkDown) { rollback in
            guard hostLink.isUp else { return }
            try rollback.change(undo: .init("set \(name) up again") {
                if let link = try hostNetlink.link(named: name) {
                    try hostNetlink.setLink(index: link.index, device: name, LinkChange(up: true))
                }
            }) {
                try hostNetlink.setLink(index: hostLink.index, device: name, LinkChange(up: false))
            }
        }
        try rollback.step(.netdevMAC) { rollback in
            guard let mac = plan.netdevMAC(conf) else { return }
            try rollback.change(undo: .init("restore the MAC of \(name)") {
                if let link = try hostNetlink.link(named: name) {
                    try setVFNetdevMAC(hostLink.hardwareAddress, linkIndex: link.index, device: name, netlink: hostNetlink,
                                       pf: plan.pf?.handle, trusted: trusted)
                }
            }) {
                try setVFNetdevMAC(mac, linkIndex: hostLink.index, device: name, netlink: hostNetlink,
                                   pf: plan.pf?.handle, trusted: trusted)
            }
        }

        if let pf = plan.pf { try applyVFSettings(pf, hostNetlink: hostNetlink, rollback: &rollback) }
    }

    /// The VF settings of the config through the PF, one request per setting in
    /// sriov-cni's order, each undone from the VF's entry before ADD.
    func applyVFSettings(_ pf: AttachPlan.PF, hostNetlink: RouteNetlink, rollback: inout Rollback) throws {
        let (netdev, vf) = (pf.handle.netdev, pf.handle.vfIndex)
        for kind in conf.vfSettings {
            let (desired, original) = settings(kind, original: pf.originalVF)
            let undo = original.map { original in
                Rollback.Undo("restore VF \(vf) \(original) on \(netdev)") {
                    try hostNetlink.setVirtualFunction(ofPF: pf.linkIndex, device: netdev, vf: vf, original)
                }
            }
            // One VF attribute per request: a request the kernel refused changed
            // nothing, so its undo is registered only once it succeeded (igb refuses
            // link_state both ways, and undoing the refused change reported a
            // rollback failure where there was nothing to roll back).
            try rollback.step(step(for: kind)) { rollback in
                try hostNetlink.setVirtualFunction(ofPF: pf.linkIndex, device: netdev, vf: vf, desired)
                try rollback.change(undo: undo) {}
            }
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
