import CNI

/// Which plugin a network config asks for. One binary serves them all: installed as
/// `sriov`, `ib-sriov` and `rdma` in the CNI bin dir, it is called with configs of
/// those types, and acts as sriov-cni, ib-sriov-cni and rdma-cni's chained mode do.
public enum PluginType: Equatable, Sendable {
    /// `sriov-rdma`, or any other name: our own defaults (the RDMA device goes with the VF).
    case sriovRDMA
    /// `sriov`: sriov-cni's keys and defaults; the RDMA device moves only with `rdmaIsolation: true`.
    case sriov
    /// `ib-sriov`: InfiniBand VFs, ib-sriov-cni's plugin.
    case ibSRIOV
    /// `rdma`: rdma-cni's chained mode, after a plugin that attached the VF.
    case rdmaChained

    public init(_ type: String) {
        switch type {
        case "sriov": self = .sriov
        case "ib-sriov": self = .ibSRIOV
        case "rdma": self = .rdmaChained
        default: self = .sriovRDMA
        }
    }
}
