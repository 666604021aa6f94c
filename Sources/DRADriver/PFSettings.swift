import DRACheckpoint
import HostDevices
import JSONValue
import Netlink

/// A VF's settings through its PF, applied at Prepare and put back at Unprepare: what
/// sriov-cni does at ADD for a NetworkAttachmentDefinition, done here for a claim.
public protocol PFSettingsApplier: Sendable {
    /// Applies `parameters` to VF `address`; returns what to restore. On a failure
    /// nothing stays changed.
    func apply(_ parameters: VFParameters, to address: PCIAddress, snapshot: HostSnapshot) throws -> AppliedPFSettings?
    func restore(_ applied: AppliedPFSettings) throws
}

/// The applier over rtnetlink in the daemon's (the host's) network namespace.
public struct NetlinkPFSettings: PFSettingsApplier {
    public init() {}

    public func apply(_ parameters: VFParameters, to address: PCIAddress, snapshot: HostSnapshot) throws -> AppliedPFSettings? {
        guard parameters.hasPFSettings else { return nil }
        guard let device = snapshot.device(at: address), let pf = device.pfAddress, let vf = device.vfIndex else {
            throw DRAError.parameters("VF settings need an SR-IOV VF: \(address) has no PF")
        }
        guard let pfNetdev = snapshot.pfName(of: pf) else {
            throw DRAError.parameters("the PF \(pf) of \(address) has no netdev to set VF \(vf) through")
        }
        let netlink = try RouteNetlink()
        guard let link = try netlink.link(named: pfNetdev) else {
            throw DRAError.parameters("PF netdev \(pfNetdev) of \(address) is not in the daemon's network namespace")
        }
        guard let entry = try netlink.virtualFunctions(ofPF: link.index, device: pfNetdev).first(where: { $0.index == vf }) else {
            throw DRAError.parameters("PF \(pfNetdev) reports no VF \(vf) for \(address)")
        }
        var applied = AppliedPFSettings(pf: pf, pfNetdev: pfNetdev, vf: vf, original: [])
        for (desired, original) in Self.changes(parameters, entry: entry) {
            do {
                try netlink.setVirtualFunction(ofPF: link.index, device: pfNetdev, vf: vf, desired)
            } catch {
                // The refused request changed nothing: undo those before it, then report.
                try? restore(applied)
                throw error
            }
            if let original { applied.original.append(original) }
        }
        return applied
    }

    public func restore(_ applied: AppliedPFSettings) throws {
        let netlink = try RouteNetlink()
        guard let link = try netlink.link(named: applied.pfNetdev) else { return }
        var failures: [String] = []
        for setting in applied.original.reversed() {
            do {
                try netlink.setVirtualFunction(ofPF: link.index, device: applied.pfNetdev, vf: applied.vf, setting)
            } catch {
                failures.append("\(error)")
            }
        }
        if !failures.isEmpty { throw DRAError.parameters(failures.joined(separator: "; ")) }
    }

    /// In sriov-cni's order: VLAN, MAC, rates, spoofchk, trust, link state; each with the
    /// value to put back (nil when the driver does not report it).
    static func changes(_ parameters: VFParameters, entry: VirtualFunctionInfo) -> [(VFSetting, VFSetting?)] {
        var changes: [(VFSetting, VFSetting?)] = []
        if parameters.vlan != nil || parameters.vlanQoS != nil || parameters.vlanProto != nil {
            let vlan = VFVLAN(id: parameters.vlan ?? 0, qos: parameters.vlanQoS ?? 0, proto: parameters.vlanProto ?? VFVLAN.protocol8021Q)
            changes.append((.vlan(vlan), .vlan(entry.vlan)))
        }
        if let mac = parameters.mac { changes.append((.mac(mac), .mac(entry.mac))) }
        if parameters.minTxRate != nil || parameters.maxTxRate != nil {
            changes.append((.rate(min: parameters.minTxRate ?? entry.minTxRate, max: parameters.maxTxRate ?? entry.maxTxRate),
                            .rate(min: entry.minTxRate, max: entry.maxTxRate)))
        }
        if let on = parameters.spoofCheck { changes.append((.spoofCheck(on), entry.spoofCheck.map(VFSetting.spoofCheck))) }
        if let on = parameters.trust { changes.append((.trust(on), entry.trust.map(VFSetting.trust))) }
        if let name = parameters.linkState, let state = VFLinkState.allCases.first(where: { $0.name == name }) {
            changes.append((.linkState(state), entry.linkState.map(VFSetting.linkState)))
        }
        return changes
    }
}
