import JSONValue

/// A claim's opaque parameters for this driver (`config[].opaque.parameters`), the
/// settings sriov-cni takes from a NetworkAttachmentDefinition, here carried by the
/// claim instead:
///
///     {"apiVersion": "sriov-rdma.io/v1alpha1", "kind": "VFConfig",
///      "vlan": 100, "vlanQoS": 3, "vlanProto": "802.1ad", "mac": "02:00:00:00:00:01",
///      "spoofchk": false, "trust": true, "minTxRate": 0, "maxTxRate": 1000,
///      "linkState": "enable", "rdmaIsolation": true, "mtu": 9000}
///
/// The PF applies the VF settings at Prepare; the CNI applies `mtu` and moves the RDMA
/// device (`rdmaIsolation`) when it attaches the VF to the pod. Every key is acted on:
/// an unknown key, or a value out of range, fails the claim's preparation with a
/// message naming it.
public struct VFParameters: Equatable, Sendable {
    public var vlan: UInt32?
    public var vlanQoS: UInt32?
    /// 0x8100 (802.1Q) or 0x88A8 (802.1ad).
    public var vlanProto: UInt16?
    public var mac: [UInt8]?
    public var spoofCheck: Bool?
    public var trust: Bool?
    public var minTxRate: UInt32?
    public var maxTxRate: UInt32?
    /// auto, enable or disable.
    public var linkState: String?
    public var rdmaIsolation: Bool?
    public var mtu: UInt32?

    public static let apiVersion = "sriov-rdma.io/v1alpha1"
    public static let kind = "VFConfig"
    static let keys: Set<String> = ["apiVersion", "kind", "vlan", "vlanQoS", "vlanProto", "mac", "spoofchk", "trust",
                                    "minTxRate", "maxTxRate", "linkState", "rdmaIsolation", "mtu"]

    public init() {}

    /// One config's parameters; `source` names it in errors ("config[1] (FromClaim)").
    public init(json: JSON, source: String) throws(DRAError) {
        guard case .object(let members) = json else {
            throw .parameters("\(source): parameters must be a JSON object, not \(json.typeName)")
        }
        let unknown = members.map(\.0).filter { !Self.keys.contains($0) }
        guard unknown.isEmpty else {
            throw .parameters("\(source): unknown parameter \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) "
                              + "(known: \(Self.keys.sorted().joined(separator: ", ")))")
        }
        func invalid(_ key: String, _ why: String) -> DRAError {
            .parameters("\(source): invalid \(key) \(json[key]?.serialized ?? "null"): \(why)")
        }
        if let version = json["apiVersion"], version.stringValue != Self.apiVersion {
            throw invalid("apiVersion", "this driver reads \(Self.apiVersion)")
        }
        if let kind = json["kind"], kind.stringValue != Self.kind { throw invalid("kind", "this driver reads \(Self.kind)") }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws(DRAError) -> UInt32? {
            guard let value = json[key], !value.isNull else { return nil }
            guard let number = value.intValue, range.contains(number) else {
                throw invalid(key, "must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return UInt32(number)
        }
        func flag(_ key: String) throws(DRAError) -> Bool? {
            guard let value = json[key], !value.isNull else { return nil }
            if let bool = value.boolValue { return bool }
            switch value.stringValue?.lowercased() {
            case "on"?: return true
            case "off"?: return false
            default: throw invalid(key, "must be true or false (or \"on\" or \"off\", as sriov-cni writes it)")
            }
        }
        vlan = try integer("vlan", 0...4094)
        vlanQoS = try integer("vlanQoS", 0...7)
        if let value = json["vlanProto"], !value.isNull {
            switch value.stringValue?.lowercased() {
            case "802.1q"?: vlanProto = 0x8100
            case "802.1ad"?: vlanProto = 0x88A8
            default: throw invalid("vlanProto", "must be 802.1q or 802.1ad")
            }
        }
        if let value = json["mac"], !value.isNull {
            guard let text = value.stringValue, let bytes = Self.mac(text) else { throw invalid("mac", "is not a MAC address") }
            guard bytes[0] & 1 == 0, bytes != [0, 0, 0, 0, 0, 0] else { throw invalid("mac", "must be a unicast address") }
            mac = bytes
        }
        spoofCheck = try flag("spoofchk")
        trust = try flag("trust")
        minTxRate = try integer("minTxRate", 0...Int(UInt32.max))
        maxTxRate = try integer("maxTxRate", 0...Int(UInt32.max))
        if let value = json["linkState"], !value.isNull {
            guard let text = value.stringValue?.lowercased(), ["auto", "enable", "disable"].contains(text) else {
                throw invalid("linkState", "must be auto, enable or disable")
            }
            linkState = text
        }
        rdmaIsolation = try flag("rdmaIsolation")
        mtu = try integer("mtu", 68...65535)
    }

    /// `other`'s settings over these: a later config wins key by key.
    public func merging(_ other: VFParameters) -> VFParameters {
        var merged = self
        merged.vlan = other.vlan ?? vlan
        merged.vlanQoS = other.vlanQoS ?? vlanQoS
        merged.vlanProto = other.vlanProto ?? vlanProto
        merged.mac = other.mac ?? mac
        merged.spoofCheck = other.spoofCheck ?? spoofCheck
        merged.trust = other.trust ?? trust
        merged.minTxRate = other.minTxRate ?? minTxRate
        merged.maxTxRate = other.maxTxRate ?? maxTxRate
        merged.linkState = other.linkState ?? linkState
        merged.rdmaIsolation = other.rdmaIsolation ?? rdmaIsolation
        merged.mtu = other.mtu ?? mtu
        return merged
    }

    /// The combination's own rules, checked once all configs are merged.
    public func validated(_ source: String) throws(DRAError) -> VFParameters {
        if (vlanQoS ?? 0) != 0 || vlanProto == 0x88A8, (vlan ?? 0) == 0 {
            throw .parameters("\(source): vlanQoS and vlanProto 802.1ad need a non-zero vlan")
        }
        if let min = minTxRate, let max = maxTxRate, max != 0, min > max {
            throw .parameters("\(source): minTxRate \(min) is above maxTxRate \(max)")
        }
        return self
    }

    /// Whether anything goes through the PF at Prepare.
    public var hasPFSettings: Bool {
        vlan != nil || vlanQoS != nil || vlanProto != nil || mac != nil || spoofCheck != nil || trust != nil
            || minTxRate != nil || maxTxRate != nil || linkState != nil
    }

    static func mac(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
