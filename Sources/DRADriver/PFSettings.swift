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

/// What Prepare changed in a PF's VF table, and the values before: enough for
/// Unprepare after a daemon restart (it is kept in the checkpoint).
public struct AppliedPFSettings: Equatable, Sendable {
    public var pf: PCIAddress
    public var pfNetdev: String
    public var vf: Int
    /// The settings as they were, in the order they were changed.
    public var original: [VFSetting]

    public var json: JSON {
        .object([("pf", .string(pf.description)), ("pfNetdev", .string(pfNetdev)), ("vf", JSON(vf)),
                 ("original", .array(original.map(Self.json)))])
    }

    public init(pf: PCIAddress, pfNetdev: String, vf: Int, original: [VFSetting]) {
        self.pf = pf
        self.pfNetdev = pfNetdev
        self.vf = vf
        self.original = original
    }

    public init?(json: JSON) {
        guard let pf = json["pf"]?.stringValue.flatMap(PCIAddress.init), let netdev = json["pfNetdev"]?.stringValue,
              let vf = json["vf"]?.intValue else { return nil }
        self.init(pf: pf, pfNetdev: netdev, vf: vf, original: (json["original"]?.arrayValue ?? []).compactMap(Self.setting))
    }

    static func json(_ setting: VFSetting) -> JSON {
        switch setting {
        case .mac(let mac): .object([("mac", .string(MACAddress(bytes: mac).description))])
        case .vlan(let vlan): .object([("vlan", JSON(Int(vlan.id))), ("qos", JSON(Int(vlan.qos))), ("proto", JSON(Int(vlan.proto)))])
        case let .rate(min, max): .object([("minTxRate", JSON(Int(min))), ("maxTxRate", JSON(Int(max)))])
        case .spoofCheck(let on): .object([("spoofchk", .bool(on))])
        case .trust(let on): .object([("trust", .bool(on))])
        case .linkState(let state): .object([("linkState", .string(state.name))])
        // Never changed by this driver (InfiniBand GUIDs are the CNI's, type ib-sriov).
        case .nodeGUID, .portGUID: .object([])
        }
    }

    static func setting(_ json: JSON) -> VFSetting? {
        if let mac = json["mac"]?.stringValue.flatMap(MACAddress.init) { return .mac(mac.bytes) }
        if let id = json["vlan"]?.intValue {
            return .vlan(VFVLAN(id: UInt32(clamping: id), qos: UInt32(clamping: json["qos"]?.intValue ?? 0),
                                proto: UInt16(clamping: json["proto"]?.intValue ?? Int(VFVLAN.protocol8021Q))))
        }
        if let min = json["minTxRate"]?.intValue, let max = json["maxTxRate"]?.intValue {
            return .rate(min: UInt32(clamping: min), max: UInt32(clamping: max))
        }
        if let on = json["spoofchk"]?.boolValue { return .spoofCheck(on) }
        if let on = json["trust"]?.boolValue { return .trust(on) }
        if let name = json["linkState"]?.stringValue, let state = VFLinkState.allCases.first(where: { $0.name == name }) {
            return .linkState(state)
        }
        return nil
    }
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
