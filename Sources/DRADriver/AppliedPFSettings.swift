import DRACheckpoint
import HostDevices
import JSONValue
import Netlink

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
