internal import CNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// include/uapi/linux/if_link.h IFLA_VF_LINK_STATE_*.
public enum VFLinkState: UInt32, Sendable, CaseIterable {
    case auto = 0, enable = 1, disable = 2

    public var name: String {
        switch self {
        case .auto: "auto"
        case .enable: "enable"
        case .disable: "disable"
        }
    }
}

/// One VLAN of a VF: id, 802.1p priority and tag protocol (0x8100 802.1Q, 0x88A8 802.1ad).
public struct VFVLAN: Equatable, Sendable {
    public var id: UInt32
    public var qos: UInt32
    public var proto: UInt16

    public static let protocol8021Q: UInt16 = 0x8100
    public static let protocol8021AD: UInt16 = 0x88A8

    public init(id: UInt32, qos: UInt32 = 0, proto: UInt16 = VFVLAN.protocol8021Q) {
        self.id = id
        self.qos = qos
        self.proto = proto
    }

    var protocolName: String {
        switch proto {
        case Self.protocol8021Q: "802.1Q"
        case Self.protocol8021AD: "802.1ad"
        default: "0x" + String(proto, radix: 16)
        }
    }
}

/// What a PF reports about one of its VFs (IFLA_VFINFO_LIST › IFLA_VF_INFO).
public struct VirtualFunctionInfo: Equatable, Sendable {
    public var index: Int
    /// The administrative MAC the PF holds for the VF; all zero when unset.
    public var mac: [UInt8]
    public var vlan: VFVLAN
    public var minTxRate: UInt32
    public var maxTxRate: UInt32
    /// nil when the driver does not report it.
    public var spoofCheck: Bool?
    public var trust: Bool?
    public var linkState: VFLinkState?
    /// InfiniBand node and port GUIDs (IFLA_VF_IB_NODE_GUID / IFLA_VF_IB_PORT_GUID), as
    /// the big-endian value of the GUID's eight bytes; reported since Linux 5.5 by
    /// drivers with `ndo_get_vf_guid` (mlx5 in InfiniBand mode), nil elsewhere.
    public var nodeGUID: UInt64?
    public var portGUID: UInt64?

    public init(index: Int, mac: [UInt8], vlan: VFVLAN = VFVLAN(id: 0), minTxRate: UInt32 = 0, maxTxRate: UInt32 = 0,
                spoofCheck: Bool? = nil, trust: Bool? = nil, linkState: VFLinkState? = nil, nodeGUID: UInt64? = nil,
                portGUID: UInt64? = nil) {
        self.index = index
        self.mac = mac
        self.vlan = vlan
        self.minTxRate = minTxRate
        self.maxTxRate = maxTxRate
        self.spoofCheck = spoofCheck
        self.trust = trust
        self.linkState = linkState
        self.nodeGUID = nodeGUID
        self.portGUID = portGUID
    }

    init?(attributes: Attributes) {
        // Every IFLA_VF_* struct starts with the u32 VF number.
        guard let macValue = attributes[Int(IFLA_VF_MAC)], let mac = macValue.load(ifla_vf_mac.self) else { return nil }
        index = Int(mac.vf)
        self.mac = withUnsafeBytes(of: mac.mac) { Array($0.prefix(6)) }
        if let info = attributes.nested(Int(IFLA_VF_VLAN_LIST))?[Int(IFLA_VF_VLAN_INFO)]?.load(ifla_vf_vlan_info.self) {
            vlan = VFVLAN(id: info.vlan, qos: info.qos, proto: UInt16(bigEndian: info.vlan_proto))
        } else if let plain = attributes[Int(IFLA_VF_VLAN)]?.load(ifla_vf_vlan.self) {
            vlan = VFVLAN(id: plain.vlan, qos: plain.qos)
        } else {
            vlan = VFVLAN(id: 0)
        }
        if let rate = attributes[Int(IFLA_VF_RATE)]?.load(ifla_vf_rate.self) {
            minTxRate = rate.min_tx_rate
            maxTxRate = rate.max_tx_rate
        } else {
            minTxRate = 0
            maxTxRate = attributes[Int(IFLA_VF_TX_RATE)]?.load(ifla_vf_tx_rate.self)?.rate ?? 0
        }
        // The kernel reports -1 for settings the driver does not fill in.
        let spoof = attributes[Int(IFLA_VF_SPOOFCHK)]?.load(ifla_vf_spoofchk.self)?.setting
        spoofCheck = spoof.flatMap { $0 == UInt32.max ? nil : $0 != 0 }
        let trusted = attributes[Int(IFLA_VF_TRUST)]?.load(ifla_vf_trust.self)?.setting
        trust = trusted.flatMap { $0 == UInt32.max ? nil : $0 != 0 }
        linkState = attributes[Int(IFLA_VF_LINK_STATE)]?.load(ifla_vf_link_state.self).flatMap { VFLinkState(rawValue: $0.link_state) }
        nodeGUID = attributes[Int(IFLA_VF_IB_NODE_GUID)]?.load(ifla_vf_guid.self)?.guid
        portGUID = attributes[Int(IFLA_VF_IB_PORT_GUID)]?.load(ifla_vf_guid.self)?.guid
    }
}

/// One VF setting a PF applies (one IFLA_VF_* attribute per request, so each can be
/// undone on its own and an error names exactly what the driver refused).
public enum VFSetting: Equatable, Sendable, CustomStringConvertible {
    case mac([UInt8])
    case vlan(VFVLAN)
    case rate(min: UInt32, max: UInt32)
    case spoofCheck(Bool)
    case trust(Bool)
    case linkState(VFLinkState)
    /// An InfiniBand VF's node or port GUID (ib-sriov-cni sends both, node first). The
    /// driver (mlx5) applies it when the VF's driver is bound again.
    case nodeGUID(UInt64)
    case portGUID(UInt64)

    public var description: String {
        switch self {
        case .mac(let mac): "mac \(formatHardwareAddress(mac))"
        case .vlan(let vlan): "vlan \(vlan.id) qos \(vlan.qos) proto \(vlan.protocolName)"
        case .rate(let min, let max): "min_tx_rate \(min) max_tx_rate \(max)"
        case .spoofCheck(let on): "spoofchk \(on ? "on" : "off")"
        case .trust(let on): "trust \(on ? "on" : "off")"
        case .linkState(let state): "state \(state.name)"
        case .nodeGUID(let guid): "node_guid \(formatGUID(guid))"
        case .portGUID(let guid): "port_guid \(formatGUID(guid))"
        }
    }
}

extension RouteNetlink {
    /// The PF's VF table (RTM_GETLINK with RTEXT_FILTER_VF).
    public func virtualFunctions(ofPF index: Int32, device: String) throws -> [VirtualFunctionInfo] {
        let message = try NetlinkMessage(type: Int(RTM_GETLINK))
        var header = ifinfomsg()
        header.ifi_index = index
        try message.appendHeader(header)
        try message.put(Int(IFLA_EXT_MASK), u32: UInt32(RTEXT_FILTER_VF) | UInt32(RTEXT_FILTER_SKIP_STATS))
        let replies = try socket.request(message, operation: "read the VF table", device: "\(device) in \(namespaceName)")
        guard let link = replies.first(where: { $0.type == UInt16(RTM_NEWLINK) }).flatMap({ LinkInfo(payload: $0.payload) }) else {
            return []
        }
        return link.virtualFunctions
    }

    /// Applies one VF setting through the PF: RTM_SETLINK on the PF with
    /// IFLA_VFINFO_LIST › IFLA_VF_INFO › IFLA_VF_*.
    public func setVirtualFunction(ofPF index: Int32, device: String, vf: Int, _ setting: VFSetting) throws {
        let message = try Self.virtualFunctionRequest(ofPF: index, vf: vf, setting)
        _ = try socket.request(message, operation: "set VF \(vf) \(setting)", device: "\(device) (PF) in \(namespaceName)")
    }

    /// The RTM_SETLINK request of `setVirtualFunction`, unsent.
    static func virtualFunctionRequest(ofPF index: Int32, vf: Int, _ setting: VFSetting) throws -> NetlinkMessage {
        let message = try NetlinkMessage(type: Int(RTM_SETLINK))
        var header = ifinfomsg()
        header.ifi_index = index
        try message.appendHeader(header)
        let number = UInt32(vf)
        try message.nested(Int(IFLA_VFINFO_LIST)) {
            try message.nested(Int(IFLA_VF_INFO)) {
                switch setting {
                case .mac(let mac):
                    var value = ifla_vf_mac()
                    value.vf = number
                    withUnsafeMutableBytes(of: &value.mac) { raw in
                        for (offset, byte) in mac.prefix(raw.count).enumerated() { raw[offset] = byte }
                    }
                    try message.put(Int(IFLA_VF_MAC), raw: value)
                case .vlan(let vlan):
                    try message.nested(Int(IFLA_VF_VLAN_LIST)) {
                        let value = ifla_vf_vlan_info(vf: number, vlan: vlan.id, qos: vlan.qos, vlan_proto: vlan.proto.bigEndian)
                        try message.put(Int(IFLA_VF_VLAN_INFO), raw: value)
                    }
                case .rate(let min, let max):
                    try message.put(Int(IFLA_VF_RATE), raw: ifla_vf_rate(vf: number, min_tx_rate: min, max_tx_rate: max))
                case .spoofCheck(let on):
                    try message.put(Int(IFLA_VF_SPOOFCHK), raw: ifla_vf_spoofchk(vf: number, setting: on ? 1 : 0))
                case .trust(let on):
                    try message.put(Int(IFLA_VF_TRUST), raw: ifla_vf_trust(vf: number, setting: on ? 1 : 0))
                case .linkState(let state):
                    try message.put(Int(IFLA_VF_LINK_STATE), raw: ifla_vf_link_state(vf: number, link_state: state.rawValue))
                case .nodeGUID(let guid):
                    try message.put(Int(IFLA_VF_IB_NODE_GUID), bytes: vfGUIDPayload(vf: number, guid: guid))
                case .portGUID(let guid):
                    try message.put(Int(IFLA_VF_IB_PORT_GUID), bytes: vfGUIDPayload(vf: number, guid: guid))
                }
            }
        }
        return message
    }

    /// `struct ifla_vf_guid { __u32 vf; __u64 guid; }` in host byte order, laid out as
    /// the C compiler lays out the uapi header's struct, padding zeroed (16 bytes on
    /// x86-64 and arm64, the GUID at offset 8).
    static func vfGUIDPayload(vf: UInt32, guid: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: MemoryLayout<ifla_vf_guid>.size)
        let vfOffset = MemoryLayout<ifla_vf_guid>.offset(of: \.vf)!
        let guidOffset = MemoryLayout<ifla_vf_guid>.offset(of: \.guid)!
        withUnsafeBytes(of: vf) { bytes.replaceSubrange(vfOffset..<vfOffset + 4, with: $0) }
        withUnsafeBytes(of: guid) { bytes.replaceSubrange(guidOffset..<guidOffset + 8, with: $0) }
        return bytes
    }
}

/// Eight colon-separated bytes, as `ip link` prints a VF's GUID.
func formatGUID(_ guid: UInt64) -> String {
    formatHardwareAddress((0..<8).map { UInt8(truncatingIfNeeded: guid >> (56 - 8 * UInt64($0))) })
}
