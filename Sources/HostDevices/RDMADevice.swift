/// An RDMA device (`/sys/class/infiniband/<name>`): a ConnectX or E810 function,
/// or a soft-RoCE (rxe) device layered on a netdev, which has no PCI parent.
public struct RDMADevice: Hashable, Sendable {
    public var name: String
    public var pciAddress: PCIAddress?
    /// Netdevs the device's ports are bound to (`ports/N/gid_attrs/ndevs/*`).
    public var netdevs: [String]
    /// `node_type`, e.g. "1: CA".
    public var nodeType: String?
    /// Ports by number, from `ports/N/`.
    public var ports: [RDMAPort] = []
    /// Character devices under `<devRoot>/infiniband` that belong to this device.
    public var characterDevices: RDMACharacterDevices = RDMACharacterDevices()
    /// The auxiliary device it sits on (`mlx5_core.sf.4`, a scalable function), which
    /// has no PCI address of its own.
    public var auxiliaryDevice: String?
    /// `node_guid`. All zeros on a VF nobody gave a GUID (network-operator #1825).
    public var nodeGUID: InfiniBandGUID?

    public init(name: String, pciAddress: PCIAddress?, netdevs: [String], nodeType: String?,
                ports: [RDMAPort] = [], characterDevices: RDMACharacterDevices = RDMACharacterDevices()) {
        self.name = name
        self.pciAddress = pciAddress
        self.netdevs = netdevs
        self.nodeType = nodeType
        self.ports = ports
        self.characterDevices = characterDevices
    }

    /// Every port ACTIVE (include/uapi/rdma/ib_user_verbs.h IB_PORT_ACTIVE = 4).
    public var allPortsActive: Bool { !ports.isEmpty && ports.allSatisfy { $0.state == 4 } }

    /// Some port's link layer is InfiniBand.
    public var hasInfiniBandPort: Bool { ports.contains { $0.isInfiniBand } }
}

/// Where a port's state, link layer and GIDs were read.
public enum RDMAPortSource: String, Hashable, Sendable {
    /// `/sys/class/infiniband/<name>/ports/N/`.
    case sysfs
    /// libibverbs, from the opened device (`RDMAPortQuery`).
    case verbs
}

/// One port of an RDMA device, as sysfs has it or, for a device that opens, as
/// libibverbs reports it (`source`). Either way it is spelled as sysfs spells it
/// (`ACTIVE`, `LinkUp`, `Ethernet`, `RoCE v2`), so both read the same in a report.
public struct RDMAPort: Hashable, Sendable {
    public var number: Int
    /// From `ports/N/state`, "4: ACTIVE": the number is enum ib_port_state.
    public var state: Int?
    public var stateName: String?
    /// `ports/N/phys_state`'s name, e.g. `LinkUp`; read with the GID tables.
    public var physicalStateName: String?
    /// `Ethernet` (RoCE) or `InfiniBand`.
    public var linkLayer: String?
    /// The active MTU in bytes: only libibverbs reports it.
    public var activeMTU: Int?
    /// Non-zero GIDs by index, as sysfs prints them.
    public var gids: [Int: String] = [:]
    /// The type of each GID in `gids`: `IB`, `RoCE v1` or `RoCE v2`.
    public var gidTypes: [Int: String] = [:]
    /// P_Keys by index (`ports/N/pkeys/I`), unused slots (partition 0) left out.
    /// Index 0 is always read, as SRIOV-DP's `pKeys` selector compares it; the rest
    /// of the table only with the GID tables.
    public var pKeys: [Int: PartitionKey] = [:]
    /// Where the facts above came from; P_Keys always come from sysfs.
    public var source: RDMAPortSource = .sysfs

    public init(number: Int, state: Int?, stateName: String?, linkLayer: String?, gids: [Int: String] = [:],
                pKeys: [Int: PartitionKey] = [:], physicalStateName: String? = nil, activeMTU: Int? = nil,
                gidTypes: [Int: String] = [:], source: RDMAPortSource = .sysfs) {
        self.number = number
        self.state = state
        self.stateName = stateName
        self.physicalStateName = physicalStateName
        self.linkLayer = linkLayer
        self.activeMTU = activeMTU
        self.gids = gids
        self.gidTypes = gidTypes
        self.pKeys = pKeys
        self.source = source
    }

    /// The link layer is InfiniBand (not RoCE's `Ethernet`): P_Keys then partition
    /// the fabric. A RoCE port reports the default `0xffff` and nothing else.
    public var isInfiniBand: Bool { linkLayer == "InfiniBand" }
}

/// The RDMA character devices a container needs to use one RDMA device, as paths
/// under the device root. rdma_cm is shared by all devices.
public struct RDMACharacterDevices: Hashable, Sendable {
    public var uverbs: String?
    public var umad: String?
    public var issm: String?
    public var ucm: String?
    public var rdmaCM: String?

    public init(uverbs: String? = nil, umad: String? = nil, issm: String? = nil, ucm: String? = nil, rdmaCM: String? = nil) {
        self.uverbs = uverbs
        self.umad = umad
        self.issm = issm
        self.ucm = ucm
        self.rdmaCM = rdmaCM
    }

    /// All present paths, in a fixed order.
    public var all: [String] { [ucm, issm, umad, uverbs, rdmaCM].compactMap { $0 } }
}
