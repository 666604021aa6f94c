import CNI
import HostDevices
import JSONValue
import Netlink

/// The plugin's network config: sriov-cni's fields accepted unchanged (`deviceID`,
/// `vlan`, `vlanQoS`, `vlanProto`, `mac`, `spoofchk`, `trust`, `link_state`,
/// `min_tx_rate`, `max_tx_rate`, `runtimeConfig.mac`, CNI_ARGS `MAC=`), the device
/// from `runtimeConfig.deviceID` or the Multus device-info file as well, and this
/// plugin's own `mtu`, `rdmaIsolation` and `stateDir`. Every value is checked here,
/// before anything touches the host; an invalid one is error 7 naming key and value.
public struct SRIOVNetConf: Sendable {
    public var deviceID: PCIAddress
    /// Where the device ID came from, for messages: "deviceID", "runtimeConfig.deviceID", ...
    public var deviceIDSource: String
    public var vlan: UInt32?
    public var vlanQoS: UInt32?
    public var vlanProto: UInt16?
    /// The MAC to give the VF: runtimeConfig.mac, else CNI_ARGS MAC=, else `mac`.
    public var mac: MACAddress?
    public var spoofCheck: Bool?
    public var trust: Bool?
    public var linkState: VFLinkState?
    public var minTxRate: UInt32?
    public var maxTxRate: UInt32?
    /// MTU to set on the interface inside the pod.
    public var mtu: UInt32?
    /// Move the VF's RDMA device into the pod (default true). With false the RDMA
    /// device stays where it is (shared netns mode).
    public var rdmaIsolation: Bool
    public var stateDir: String
    /// The InfiniBand keys of a `"type": "ib-sriov"` network; nil for Ethernet types.
    public var infiniBand: InfiniBandConf?

    /// On /run (tmpfs): the records describe kernel objects (pod namespaces, VFs in
    /// them, PF settings) that a reboot ends, so they end with it, and a stale record
    /// never outlives a reboot to claim a VF; and a record costs a tmpfs inode, not a
    /// journaled ext4 one (a tenth of an ADD+DEL's CPU, issue #19).
    public static let defaultStateDir = "/run/sriov-rdma/cni"
    /// Earlier builds' default: its records are moved to `defaultStateDir` (`LegacyState`).
    public static let legacyStateDir = "/var/lib/cni/sriov-rdma"

    /// Whether any setting needs the PF (the device must be a VF).
    public var needsPF: Bool {
        vlan != nil || vlanQoS != nil || vlanProto != nil || spoofCheck != nil || trust != nil || linkState != nil
            || minTxRate != nil || maxTxRate != nil
    }

    /// The settings applied through the PF, in sriov-cni's order.
    var vfSettings: [VFSettingKind] {
        var kinds: [VFSettingKind] = []
        if vlan != nil { kinds.append(.vlan) }
        if mac != nil { kinds.append(.mac) }
        if minTxRate != nil || maxTxRate != nil { kinds.append(.rate) }
        if spoofCheck != nil { kinds.append(.spoofCheck) }
        if trust != nil { kinds.append(.trust) }
        if linkState != nil { kinds.append(.linkState) }
        return kinds
    }

    /// The full parse for ADD and CHECK. `rdmaIsolation` defaults to `defaultRDMAIsolation`:
    /// true for our own type, false as type `sriov` (sriov-cni never moves the RDMA
    /// device, so a host in shared RDMA netns mode keeps working when it is swapped in).
    public init(config: NetworkConfig, environment: CNIEnvironment, defaultRDMAIsolation: Bool = true,
                infiniBand isInfiniBand: Bool = false) throws(CNIError) {
        let json = config.json
        if isInfiniBand { infiniBand = try InfiniBandConf(json: json, environment: environment) }
        stateDir = try Self.string(json, "stateDir") ?? Self.defaultStateDir
        guard stateDir.hasPrefix("/") else { throw Self.invalid("stateDir", .string(stateDir), "must be an absolute path") }
        (deviceID, deviceIDSource) = try Self.deviceID(json)
        vlan = try Self.integer(json, "vlan", in: 0...4094)
        vlanQoS = try Self.integer(json, "vlanQoS", in: 0...7)
        if let text = try Self.string(json, "vlanProto") {
            switch text.lowercased() {
            case "802.1q": vlanProto = VFVLAN.protocol8021Q
            case "802.1ad": vlanProto = VFVLAN.protocol8021AD
            default: throw Self.invalid("vlanProto", .string(text), "must be 802.1q or 802.1ad")
            }
        }
        if let qos = vlanQoS, qos != 0, (vlan ?? 0) == 0 {
            throw Self.invalid("vlanQoS", JSON(Int(qos)), "needs a non-zero vlan")
        }
        if vlanProto == VFVLAN.protocol8021AD, (vlan ?? 0) == 0 {
            throw Self.invalid("vlanProto", .string("802.1ad"), "needs a non-zero vlan")
        }
        if vlan == nil, vlanQoS != nil || vlanProto != nil {
            throw CNIError(.invalidNetworkConfig, "vlanQoS and vlanProto need vlan")
        }
        spoofCheck = try Self.onOff(json, "spoofchk")
        trust = try Self.onOff(json, "trust")
        if let text = try Self.string(json, "link_state") {
            switch text.lowercased() {
            case "auto": linkState = .auto
            case "enable": linkState = .enable
            case "disable": linkState = .disable
            default: throw Self.invalid("link_state", .string(text), "must be auto, enable or disable")
            }
        }
        minTxRate = try Self.integer(json, "min_tx_rate", in: 0...Int(UInt32.max))
        maxTxRate = try Self.integer(json, "max_tx_rate", in: 0...Int(UInt32.max))
        if let min = minTxRate, let max = maxTxRate, max != 0, min > max {
            throw Self.invalid("min_tx_rate", JSON(Int(min)), "is above max_tx_rate \(max)")
        }
        mtu = try Self.integer(json, "mtu", in: 68...65535)
        switch json["rdmaIsolation"] {
        case nil, .null?: rdmaIsolation = defaultRDMAIsolation
        case .bool(let value)?: rdmaIsolation = value
        case let other?: throw Self.invalid("rdmaIsolation", other, "must be true or false")
        }
        if infiniBand == nil {
            mac = try Self.mac(json, environment: environment)
        }
    }

    // MARK: Keys this plugin does not act on

    /// The network config keys this plugin reads, the spec's own and sriov-cni's.
    static let knownKeys: Set<String> = [
        "cniVersion", "cniVersions", "name", "type", "ipam", "dns", "runtimeConfig", "capabilities", "prevResult",
        "args", "disableCheck", "disableGC",
        "deviceID", "pciBusID", "vlan", "vlanQoS", "vlanProto", "mac", "spoofchk", "trust", "link_state",
        "min_tx_rate", "max_tx_rate", "logLevel", "logFile",
        "mtu", "rdmaIsolation", "stateDir", "dra",
    ]

    /// Refuses InfiniBand keys in an Ethernet network; returns the keys this plugin
    /// does not know, for the caller to warn about.
    static func unservedKeys(_ json: JSON, type: PluginType, typeName: String) throws(CNIError) -> [String] {
        guard case .object(let members) = json else { return [] }
        let known = type == .ibSRIOV ? knownKeys.union(InfiniBandConf.keys) : knownKeys
        if type != .ibSRIOV {
            var infiniBand = members.map(\.0).filter { InfiniBandConf.keys.contains($0) }
            if json["runtimeConfig"]?["infinibandGUID"] != nil { infiniBand.append("runtimeConfig.infinibandGUID") }
            if !infiniBand.isEmpty {
                throw CNIError(.invalidNetworkConfig,
                               "\(infiniBand.joined(separator: ", ")) (InfiniBand keys) cannot be acted on by type \(typeName)",
                               details: "InfiniBand VFs are served by type ib-sriov")
            }
        }
        return members.map(\.0).filter { !known.contains($0) }
    }

    // MARK: Field readers

    static func invalid(_ key: String, _ value: JSON, _ why: String) -> CNIError {
        CNIError(.invalidNetworkConfig, "invalid \(key) \(value.serialized): \(why)")
    }

    static func string(_ json: JSON, _ key: String) throws(CNIError) -> String? {
        guard let value = json[key], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw invalid(key, value, "must be a string") }
        return text.isEmpty ? nil : text
    }

    static func integer(_ json: JSON, _ key: String, in range: ClosedRange<Int>) throws(CNIError) -> UInt32? {
        guard let value = json[key], !value.isNull else { return nil }
        guard let number = value.intValue else { throw invalid(key, value, "must be an integer") }
        guard range.contains(number) else { throw invalid(key, value, "must be in \(range.lowerBound)...\(range.upperBound)") }
        return UInt32(number)
    }

    static func runtimeString(_ json: JSON, _ key: String) throws(CNIError) -> String? {
        guard let runtime = json["runtimeConfig"], !runtime.isNull else { return nil }
        guard let value = runtime[key], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw invalid("runtimeConfig.\(key)", value, "must be a string") }
        return text.isEmpty ? nil : text
    }

    static func onOff(_ json: JSON, _ key: String) throws(CNIError) -> Bool? {
        guard let text = try string(json, key) else { return nil }
        switch text.lowercased() {
        case "on": return true
        case "off": return false
        default: throw invalid(key, .string(text), "must be \"on\" or \"off\"")
        }
    }

    static func mac(_ json: JSON, environment: CNIEnvironment) throws(CNIError) -> MACAddress? {
        let candidates: [(String, String?)] = [
            ("runtimeConfig.mac", try runtimeString(json, "mac")),
            ("CNI_ARGS MAC", environment.arg("MAC").flatMap { $0.isEmpty ? nil : $0 }),
            ("mac", try string(json, "mac")),
        ]
        guard let (key, text) = candidates.first(where: { $0.1 != nil }), let text else { return nil }
        guard let mac = MACAddress(text), mac.bytes.count == 6 else {
            throw invalid(key, .string(text), "is not a MAC address")
        }
        guard mac.bytes[0] & 1 == 0, mac.bytes != [0, 0, 0, 0, 0, 0] else {
            throw invalid(key, .string(text), "must be a unicast address")
        }
        return mac
    }

    /// `deviceID` (Multus injects it), then `runtimeConfig.deviceID` (the deviceID
    /// capability), then `pciBusID`, then the Multus device-info file.
    static func deviceID(_ json: JSON) throws(CNIError) -> (PCIAddress, String) {
        let candidates: [(String, String?)] = [
            ("deviceID", try string(json, "deviceID")),
            ("runtimeConfig.deviceID", try runtimeString(json, "deviceID")),
            ("pciBusID", try string(json, "pciBusID")),
        ]
        if let (key, text) = candidates.first(where: { $0.1 != nil }), let text {
            guard let address = PCIAddress(text) else {
                throw invalid(key, .string(text), "is not a PCI address (DDDD:BB:DD.F)")
            }
            return (address, key)
        }
        if let path = try runtimeString(json, "CNIDeviceInfoFile") {
            return (try DeviceInfoFile.read(path).pciAddress, "device-info file \(path)")
        }
        throw CNIError(.invalidNetworkConfig, "no deviceID: set deviceID (Multus adds it from the network's resourceName), "
                       + "runtimeConfig.deviceID, or runtimeConfig.CNIDeviceInfoFile")
    }

    /// For DEL: only the device ID, and only when it parses. DEL never fails on config
    /// it could not have used.
    static func deviceIDIfPresent(_ json: JSON) -> PCIAddress? {
        (try? deviceID(json))?.0
    }

    /// For DEL, GC and STATUS: the state directory, defaulting on anything unusable.
    static func stateDir(_ json: JSON) -> String {
        if let path = json["stateDir"]?.stringValue, path.hasPrefix("/") { return path }
        return defaultStateDir
    }
}

/// The settings a PF applies for a VF, by name (recorded in state so DEL restores
/// exactly what ADD changed).
enum VFSettingKind: String, CaseIterable, Sendable {
    case vlan, mac, rate, spoofCheck = "spoofchk", trust, linkState = "link_state"
}
