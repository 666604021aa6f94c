/// One port as libibverbs reports it (ibv_query_port, ibv_query_gid_table), spelled as
/// sysfs spells it (`ACTIVE`, `LinkUp`, `Ethernet`, `RoCE v2`), so either source reads
/// the same in a report.
public struct RDMAPortAttributes: Hashable, Sendable {
    public var number: Int
    /// enum ib_port_state (include/uapi/rdma/ib_user_verbs.h), e.g. 4 for ACTIVE.
    public var state: Int
    public var stateName: String
    /// e.g. `LinkUp` (include/rdma/ib_verbs.h phys_state_to_str).
    public var physicalStateName: String
    /// `Ethernet` (RoCE) or `InfiniBand`.
    public var linkLayer: String
    /// The active MTU in bytes (256 to 4096).
    public var activeMTU: Int
    /// Valid GIDs by index, as sysfs prints them (eight groups of four hex digits).
    public var gids: [Int: String]
    /// Each GID's type by index: `IB`, `RoCE v1` or `RoCE v2`.
    public var gidTypes: [Int: String]

    public init(number: Int, state: Int, stateName: String, physicalStateName: String, linkLayer: String,
                activeMTU: Int, gids: [Int: String], gidTypes: [Int: String]) {
        self.number = number
        self.state = state
        self.stateName = stateName
        self.physicalStateName = physicalStateName
        self.linkLayer = linkLayer
        self.activeMTU = activeMTU
        self.gids = gids
        self.gidTypes = gidTypes
    }
}

/// Asks the RDMA stack itself about a device's ports during a scan: `VerbsPortQuery`
/// (module RDMAVerbs) opens the device through libibverbs. A protocol so that
/// HostDevices does not link libibverbs: the CNI plugin uses HostDevices and must need
/// nothing beyond glibc on a node.
public protocol RDMAPortQuery: AnyObject {
    /// The ports of the RDMA device `name`, or nil when it does not open (no such
    /// device, no access to its uverbs node, no provider library for it).
    func ports(ofDevice name: String) -> [RDMAPortAttributes]?
}
