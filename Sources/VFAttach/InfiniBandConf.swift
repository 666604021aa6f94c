import CNI
import HostDevices
import JSONValue

/// The keys of a `"type": "ib-sriov"` network, ib-sriov-cni's (`guid` from
/// `runtimeConfig.infinibandGUID` or CNI_ARGS `guid=`, `pkey`, `ibKubernetesEnabled`,
/// `vfioPciMode`) and this plugin's `guid` in the config itself and `assignGUID`.
/// `link_state`, `rdmaIsolation` (default false, as ib-sriov-cni), `mtu` and `ipam` are
/// SRIOVNetConf's. Ethernet's keys (vlan, mac, spoofchk, trust, rates) are refused:
/// ib-sriov-cni ignores them, and a VLAN nobody applies is a network nobody reaches.
public struct InfiniBandConf: Sendable, Equatable {
    /// The GUID to give the VF (node and port GUID alike, as ib-sriov-cni does).
    public var guid: InfiniBandGUID?
    /// Where `guid` came from, for messages.
    public var guidSource: String?
    /// The partition the pod's port belongs to. The subnet manager (through
    /// ib-kubernetes) programs partition membership; the CNI checks the VF's P_Key
    /// table for it and says so when it is missing.
    public var pkey: PartitionKey?
    /// ib-kubernetes configures the GUID: ADD waits for its CNI_ARGS
    /// `mellanox.infiniband.app=configured` and requires a GUID.
    public var ibKubernetesEnabled: Bool
    /// The device is bound to vfio-pci: nothing is moved, the GUID is set without a
    /// rebind. Detected from the bound driver when not set; when set, the driver must be vfio-pci.
    public var vfioPciMode: Bool
    /// A VF without a usable GUID (all zeros, all ones) and no `guid` given gets one
    /// derived from its PF's node GUID and its VF index, the same at every ADD.
    public var assignGUID: Bool

    /// CNI_ARGS key ib-kubernetes sets once it has configured the pod's GUID and partition.
    static let ibKubernetesArgument = "mellanox.infiniband.app"

    /// Keys only an ib-sriov network may have.
    static let keys: Set<String> = ["guid", "pkey", "ibKubernetesEnabled", "vfioPciMode", "assignGUID"]
    /// Ethernet VF keys an ib-sriov network may not have.
    static let ethernetKeys = ["vlan", "vlanQoS", "vlanProto", "mac", "spoofchk", "trust", "min_tx_rate", "max_tx_rate"]

    init(json: JSON, environment: CNIEnvironment) throws(CNIError) {
        let refused = Self.ethernetKeys.filter { json[$0].map { !$0.isNull } ?? false }
            + ((try? SRIOVNetConf.runtimeString(json, "mac")) != nil ? ["runtimeConfig.mac"] : [])
        if !refused.isEmpty {
            throw CNIError(.invalidNetworkConfig,
                           "\(refused.joined(separator: ", ")) cannot be applied to an InfiniBand VF (type ib-sriov)",
                           details: "InfiniBand has GUIDs (guid) and partitions (pkey) instead; use type sriov for Ethernet VFs")
        }
        let candidates: [(String, String?)] = [
            ("runtimeConfig.infinibandGUID", try SRIOVNetConf.runtimeString(json, "infinibandGUID")),
            ("CNI_ARGS guid", environment.arg("guid").flatMap { $0.isEmpty ? nil : $0 }),
            ("guid", try SRIOVNetConf.string(json, "guid")),
        ]
        if let (key, text) = candidates.first(where: { $0.1 != nil }), let text {
            guard let parsed = InfiniBandGUID(text) else {
                throw SRIOVNetConf.invalid(key, .string(text), "is not a GUID (eight hex bytes, 02:00:00:00:00:00:00:01)")
            }
            guard parsed.isAssignable else {
                throw SRIOVNetConf.invalid(key, .string(text), "is not a usable GUID (all zeros and all ones mean none)")
            }
            guid = parsed
            guidSource = key
        }
        if let text = try SRIOVNetConf.string(json, "pkey") {
            guard let key = PartitionKey(text), key.partition != 0 else {
                throw SRIOVNetConf.invalid("pkey", .string(text), "is not a partition key (0x0001 to 0xffff)")
            }
            pkey = key
        }
        ibKubernetesEnabled = try Self.bool(json, "ibKubernetesEnabled")
        vfioPciMode = try Self.bool(json, "vfioPciMode")
        assignGUID = try Self.bool(json, "assignGUID")
        if assignGUID && ibKubernetesEnabled {
            throw SRIOVNetConf.invalid("assignGUID", .bool(true), "conflicts with ibKubernetesEnabled (ib-kubernetes assigns the GUIDs)")
        }
        if json["ipam"]?["type"]?.stringValue == "dhcp" {
            throw CNIError(.invalidNetworkConfig, "ipam type dhcp is not supported on InfiniBand (type ib-sriov)",
                           details: "use host-local, static or whereabouts, as with ib-sriov-cni")
        }
    }

    static func bool(_ json: JSON, _ key: String) throws(CNIError) -> Bool {
        switch json[key] {
        case nil, .null?: return false
        case .bool(let value)?: return value
        case let other?: throw SRIOVNetConf.invalid(key, other, "must be true or false")
        }
    }

    /// ib-kubernetes's go-ahead, checked before anything is touched.
    func checkIBKubernetes(_ environment: CNIEnvironment, isVF: Bool) throws(CNIError) {
        guard ibKubernetesEnabled else { return }
        let status = environment.arg(Self.ibKubernetesArgument)
        guard status == "configured" else {
            throw CNIError(.tryAgainLater, "ibKubernetesEnabled: ib-kubernetes has not configured this pod yet",
                           details: "CNI_ARGS \(Self.ibKubernetesArgument) is \(status.map { "\"\($0)\"" } ?? "absent"), "
                               + "not \"configured\"; the runtime retries the ADD")
        }
        if isVF && guid == nil {
            throw CNIError(.invalidNetworkConfig, "ibKubernetesEnabled: no GUID from ib-kubernetes",
                           details: "expected runtimeConfig.infinibandGUID (the infinibandGUID capability) or CNI_ARGS guid=")
        }
    }
}
