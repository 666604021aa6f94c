import CNI
import HostDevices
import JSONValue
import Netlink

/// What ADD changed, on disk at `<stateDir>/attachments/<containerID>-<ifname>.json`:
/// enough for DEL to restore everything, even after the pod namespace, the cache of
/// the runtime or the VF's name are gone. Written before the first host change
/// (phase "adding") and again when ADD completes (phase "added").
struct AttachmentRecord: Equatable, Sendable {
    var network: String
    var containerID: String
    var ifname: String
    var netns: String
    var deviceID: PCIAddress
    var pf: PFHandle?
    /// The VF netdev as it was in the host namespace; nil for a VF on a userspace
    /// driver, which has no netdev.
    var host: HostNetdev?
    /// The userspace driver (vfio-pci, uio_pci_generic, igb_uio) the VF was bound to at
    /// ADD; nil for a netdev VF. ADD moved nothing then, and DEL has nothing to return.
    var userspaceDriver: String?
    /// The VF's settings in the PF before ADD (nil when not a VF).
    var originalVF: VirtualFunctionInfo?
    /// What ADD changed through the PF.
    var appliedVF: [VFSettingKind]
    var ipamType: String?
    var rdma: RDMARecord?
    /// An InfiniBand VF's identity before and after ADD (type ib-sriov).
    var infiniBand: InfiniBandRecord?
    var phase: String
    var result: JSON?

    struct HostNetdev: Equatable, Sendable {
        var name: String
        var mac: MACAddress
        var mtu: UInt32
        var up: Bool
        var alias: String?
    }

    struct RDMARecord: Equatable, Sendable {
        var device: String
        var moved: Bool
    }

    struct InfiniBandRecord: Equatable, Sendable {
        /// The VF's GUIDs before ADD; nil when they could not be read.
        var originalNodeGUID: InfiniBandGUID?
        var originalPortGUID: InfiniBandGUID?
        /// The GUID ADD gives the VF; nil when the VF keeps its own.
        var guid: InfiniBandGUID?
        /// The VF's kernel driver, unbound and bound again so that the VF takes `guid`;
        /// nil on vfio-pci, which is not rebound.
        var rebindDriver: String?
        var pkey: PartitionKey?
        /// The rebind has happened: the netdev was recreated.
        var rebound = false

        /// What DEL sets back: the original GUID, all ones for all zeros or unknown
        /// (ib-sriov-cni: a zero GUID cannot be set, all ones means none).
        var restoredNodeGUID: InfiniBandGUID { Self.restorable(originalNodeGUID) }
        var restoredPortGUID: InfiniBandGUID { Self.restorable(originalPortGUID) }

        private static func restorable(_ guid: InfiniBandGUID?) -> InfiniBandGUID {
            guard let guid, !guid.isZero else { return .allOnes }
            return guid
        }

        var json: JSON {
            var members: [(String, JSON)] = []
            if let originalNodeGUID { members.append(("originalNodeGUID", .string(originalNodeGUID.description))) }
            if let originalPortGUID { members.append(("originalPortGUID", .string(originalPortGUID.description))) }
            if let guid { members.append(("guid", .string(guid.description))) }
            if let rebindDriver { members.append(("rebindDriver", .string(rebindDriver))) }
            if let pkey { members.append(("pkey", .string(pkey.description))) }
            members.append(("rebound", .bool(rebound)))
            return .object(members)
        }

        init(originalNodeGUID: InfiniBandGUID?, originalPortGUID: InfiniBandGUID?, guid: InfiniBandGUID?,
             rebindDriver: String?, pkey: PartitionKey?, rebound: Bool = false) {
            self.originalNodeGUID = originalNodeGUID
            self.originalPortGUID = originalPortGUID
            self.guid = guid
            self.rebindDriver = rebindDriver
            self.pkey = pkey
            self.rebound = rebound
        }

        init(json: JSON) {
            originalNodeGUID = json["originalNodeGUID"]?.stringValue.flatMap(InfiniBandGUID.init)
            originalPortGUID = json["originalPortGUID"]?.stringValue.flatMap(InfiniBandGUID.init)
            guid = json["guid"]?.stringValue.flatMap(InfiniBandGUID.init)
            rebindDriver = json["rebindDriver"]?.stringValue
            pkey = json["pkey"]?.stringValue.flatMap(PartitionKey.init)
            rebound = json["rebound"]?.boolValue ?? false
        }
    }

    static func fileName(containerID: String, ifname: String) -> String {
        "attachments/\(containerID)-\(ifname).json"
    }

    var fileName: String { Self.fileName(containerID: containerID, ifname: ifname) }

    // MARK: JSON

    var json: JSON {
        var members: [(String, JSON)] = [
            ("version", JSON(1)),
            ("phase", .string(phase)),
            ("network", .string(network)),
            ("containerID", .string(containerID)),
            ("ifname", .string(ifname)),
            ("netns", .string(netns)),
            ("deviceID", .string(deviceID.description)),
        ]
        if let pf {
            members.append(("pf", .object([("address", .string(pf.address.description)), ("netdev", .string(pf.netdev)),
                                           ("vf", JSON(pf.vfIndex))])))
        }
        if let host {
            var hostMembers: [(String, JSON)] = [("name", .string(host.name)), ("mac", .string(host.mac.description)),
                                                 ("mtu", JSON(Int(host.mtu))), ("up", .bool(host.up))]
            if let alias = host.alias { hostMembers.append(("alias", .string(alias))) }
            members.append(("host", .object(hostMembers)))
        }
        if let userspaceDriver { members.append(("userspaceDriver", .string(userspaceDriver))) }
        if let vf = originalVF {
            var fields: [(String, JSON)] = [
                ("mac", .string(MACAddress(bytes: vf.mac).description)),
                ("vlan", JSON(Int(vf.vlan.id))), ("vlanQoS", JSON(Int(vf.vlan.qos))), ("vlanProto", JSON(Int(vf.vlan.proto))),
                ("min_tx_rate", JSON(Int(vf.minTxRate))), ("max_tx_rate", JSON(Int(vf.maxTxRate))),
            ]
            if let spoof = vf.spoofCheck { fields.append(("spoofchk", .bool(spoof))) }
            if let trust = vf.trust { fields.append(("trust", .bool(trust))) }
            if let state = vf.linkState { fields.append(("link_state", .string(state.name))) }
            members.append(("originalVF", .object(fields)))
        }
        members.append(("appliedVF", .array(appliedVF.map { .string($0.rawValue) })))
        if let ipamType { members.append(("ipam", .string(ipamType))) }
        if let rdma { members.append(("rdma", .object([("device", .string(rdma.device)), ("moved", .bool(rdma.moved))]))) }
        if let infiniBand { members.append(("infiniBand", infiniBand.json)) }
        if let result { members.append(("result", result)) }
        return .object(members)
    }

    init(network: String, containerID: String, ifname: String, netns: String, deviceID: PCIAddress, pf: PFHandle?,
         host: HostNetdev?, userspaceDriver: String? = nil, originalVF: VirtualFunctionInfo?,
         appliedVF: [VFSettingKind] = [], ipamType: String?, rdma: RDMARecord? = nil,
         infiniBand: InfiniBandRecord? = nil, phase: String = "adding", result: JSON? = nil) {
        self.network = network
        self.containerID = containerID
        self.ifname = ifname
        self.netns = netns
        self.deviceID = deviceID
        self.pf = pf
        self.host = host
        self.userspaceDriver = userspaceDriver
        self.originalVF = originalVF
        self.appliedVF = appliedVF
        self.ipamType = ipamType
        self.rdma = rdma
        self.infiniBand = infiniBand
        self.phase = phase
        self.result = result
    }

    /// Reads a record; a record this version cannot read is an error with the file named.
    init(json: JSON, file: String) throws(CNIError) {
        func fail(_ what: String) -> CNIError {
            CNIError(.stateFailed, "state file \(file) is unusable: \(what)")
        }
        guard json["version"]?.intValue == 1 else { throw fail("unknown version") }
        guard let network = json["network"]?.stringValue, let containerID = json["containerID"]?.stringValue,
              let ifname = json["ifname"]?.stringValue, let netns = json["netns"]?.stringValue,
              let deviceText = json["deviceID"]?.stringValue, let deviceID = PCIAddress(deviceText),
              let phase = json["phase"]?.stringValue else { throw fail("missing attachment fields") }
        let userspaceDriver = json["userspaceDriver"]?.stringValue
        var hostNetdev: HostNetdev?
        if let host = json["host"] {
            guard let name = host["name"]?.stringValue, let mac = host["mac"]?.stringValue.flatMap({ MACAddress($0) }),
                  let mtu = host["mtu"]?.intValue, let up = host["up"]?.boolValue else { throw fail("missing host netdev fields") }
            hostNetdev = HostNetdev(name: name, mac: mac, mtu: UInt32(clamping: mtu), up: up, alias: host["alias"]?.stringValue)
        } else if userspaceDriver == nil {
            throw fail("missing host netdev fields")
        }
        var pf: PFHandle?
        if let value = json["pf"] {
            guard let text = value["address"]?.stringValue, let address = PCIAddress(text),
                  let netdev = value["netdev"]?.stringValue, let index = value["vf"]?.intValue else { throw fail("bad pf") }
            pf = PFHandle(address: address, netdev: netdev, vfIndex: index)
        }
        var original: VirtualFunctionInfo?
        if let value = json["originalVF"], let pf {
            guard let mac = value["mac"]?.stringValue.flatMap({ MACAddress($0) }), let vlan = value["vlan"]?.intValue,
                  let qos = value["vlanQoS"]?.intValue, let proto = value["vlanProto"]?.intValue,
                  let minRate = value["min_tx_rate"]?.intValue, let maxRate = value["max_tx_rate"]?.intValue
            else { throw fail("bad originalVF") }
            original = VirtualFunctionInfo(
                index: pf.vfIndex, mac: mac.bytes,
                vlan: VFVLAN(id: UInt32(clamping: vlan), qos: UInt32(clamping: qos), proto: UInt16(clamping: proto)),
                minTxRate: UInt32(clamping: minRate), maxTxRate: UInt32(clamping: maxRate),
                spoofCheck: value["spoofchk"]?.boolValue, trust: value["trust"]?.boolValue,
                linkState: value["link_state"]?.stringValue.flatMap { name in VFLinkState.allCases.first { $0.name == name } })
        }
        let applied = (json["appliedVF"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(VFSettingKind.init) }
        var rdma: RDMARecord?
        if let value = json["rdma"], let device = value["device"]?.stringValue {
            rdma = RDMARecord(device: device, moved: value["moved"]?.boolValue ?? false)
        }
        self.init(network: network, containerID: containerID, ifname: ifname, netns: netns, deviceID: deviceID, pf: pf,
                  host: hostNetdev, userspaceDriver: userspaceDriver, originalVF: original, appliedVF: applied,
                  ipamType: json["ipam"]?.stringValue, rdma: rdma, infiniBand: json["infiniBand"].map(InfiniBandRecord.init(json:)),
                  phase: phase, result: json["result"])
    }
}

/// `<stateDir>/allocations/<pci>.json`: which attachment holds a VF.
struct AllocationRecord: Equatable, Sendable {
    var containerID: String
    var ifname: String
    var netns: String
    var network: String

    static func fileName(_ address: PCIAddress) -> String { "allocations/\(address).json" }

    var json: JSON {
        .object([("containerID", .string(containerID)), ("ifname", .string(ifname)), ("netns", .string(netns)),
                 ("network", .string(network))])
    }

    init(containerID: String, ifname: String, netns: String, network: String) {
        self.containerID = containerID
        self.ifname = ifname
        self.netns = netns
        self.network = network
    }

    init?(json: JSON) {
        guard let containerID = json["containerID"]?.stringValue, let ifname = json["ifname"]?.stringValue,
              let netns = json["netns"]?.stringValue else { return nil }
        self.init(containerID: containerID, ifname: ifname, netns: netns, network: json["network"]?.stringValue ?? "")
    }

    func belongs(to containerID: String, _ ifname: String) -> Bool {
        self.containerID == containerID && self.ifname == ifname
    }
}
