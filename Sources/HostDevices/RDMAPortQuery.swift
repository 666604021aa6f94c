/// Asks the RDMA stack itself about a device's ports during a scan: `VerbsPortQuery`
/// (module RDMAVerbs) opens the device through libibverbs. A protocol so that
/// HostDevices does not link libibverbs: the CNI plugin uses HostDevices and must need
/// nothing beyond glibc on a node.
public protocol RDMAPortQuery: AnyObject {
    /// The ports of the RDMA device `name` (`source: .verbs`, no P_Keys), or nil when
    /// it does not open (no such device, no access to its uverbs node, no provider
    /// library for it).
    func ports(ofDevice name: String) -> [RDMAPort]?
}
