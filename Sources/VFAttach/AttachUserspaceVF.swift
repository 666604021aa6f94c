import CNI
import HostDevices
import Netlink

/// The drivers that hand a VF to a userspace program (DPDK and the like) instead of
/// the kernel's network stack, as sriov-cni and ib-sriov-cni detect them. A VF bound
/// to one has no netdev: there is nothing to move.
enum UserspaceDriver {
    static let known = ["vfio-pci", "uio_pci_generic", "igb_uio"]
}

extension VFLocation {
    /// The userspace driver the VF is bound to, nil for a kernel driver or none.
    var userspaceDriver: String? {
        driver.flatMap { UserspaceDriver.known.contains($0) ? $0 : nil }
    }
}

extension AttachVF {
    /// ADD for a VF on a userspace driver (sriov-cni's DPDK mode): the VF settings go
    /// through the PF, IPAM only allocates (there is no netdev to give addresses to),
    /// nothing moves. The record says so, so DEL restores the settings and releases
    /// IPAM without looking for a netdev, whatever the config of the DEL says.
    /// An InfiniBand VF on vfio-pci comes with its `infiniBand` record and its GUID
    /// change in `extraSettings`, run after the PF settings.
    func attachUserspace(_ location: VFLocation, driver: String, ipam: PluginDelegate?, state: StateDirectory,
                         rollback: inout Rollback, infiniBand: AttachmentRecord.InfiniBandRecord? = nil,
                         extraSettings: (inout Rollback) throws -> Void = { _ in }) throws -> CNIResult {
        let environment = call.environment
        let address = location.address
        if let mtu = conf.mtu {
            call.logger.warning("mtu \(mtu) is not applied: VF \(address) is bound to \(driver) and has no netdev; "
                                + "the userspace program sets its own MTU")
        }
        if !location.rdmaDevices.isEmpty, infiniBand == nil {
            call.logger.warning("VF \(address) on \(driver) still has RDMA devices \(location.rdmaDevices.joined(separator: ", ")); "
                                + "they stay in the host namespace")
        }
        let hostNetlink = try RouteNetlink(in: try host.openNamespace())
        let pf = try pfEntry(location, hostNetlink: hostNetlink)
        var record = AttachmentRecord(
            network: call.config.name, containerID: environment.containerID, ifname: environment.ifname,
            netns: environment.netns, deviceID: address, pf: pf?.handle, host: nil, userspaceDriver: driver,
            originalVF: pf?.originalVF, appliedVF: pf == nil ? [] : conf.vfSettings, ipamType: call.config.ipamType)
        record.infiniBand = infiniBand
        try rollback.step(.recordState, undo: .init("remove the state record") { [fileName = record.fileName] in
            try state.remove(fileName)
        }) {
            try state.write(record.fileName, record.json)
        }
        if let pf { try applyVFSettings(pf, hostNetlink: hostNetlink, rollback: &rollback) }
        try extraSettings(&rollback)

        var ipamResult = CNIResult()
        try rollback.step(.ipam) { rollback in
            guard let ipam else { return }
            try rollback.change(undo: .init("release the IPAM allocation (\(ipam.type) DEL)") { try ipam.delete(call.config) }) {
                ipamResult = try ipam.add(call.config)
            }
        }
        // The administrative MAC the PF gives the VF is what the program sees.
        let result = try complete(
            &record,
            interface: CNIResult.Interface(name: environment.ifname, mac: conf.mac?.description, sandbox: environment.netns,
                                           pciID: address.description),
            ipam: ipamResult, state: state, rollback: rollback)
        call.logger.info("attached VF \(address) on \(driver) to \(environment.netns) as \(environment.ifname): "
                         + (pf.map { "settings applied through PF \($0.handle.netdev)" } ?? "no PF settings") + ", nothing moved")
        return result
    }
}
