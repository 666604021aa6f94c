import CNI
import HostDevices
import Netlink

/// Why a VF's RDMA device cannot go into the pod with it. Found before the first
/// change except for the move itself, which the kernel may still refuse.
enum RDMAIsolationError: Error, CNIErrorConvertible {
    case netnsModeUnreadable(device: String, NetlinkError)
    case sharedNetnsMode(device: String, vf: PCIAddress)
    case notVisible(device: String, vf: PCIAddress)
    case moveRefused(device: String, vf: PCIAddress, NetlinkError)

    var cniError: CNIError {
        switch self {
        case let .netnsModeUnreadable(device, error):
            CNIError(.rdmaIsolationFailed, "cannot read the RDMA netns mode for RDMA device \(device)", details: error.description)
        case let .sharedNetnsMode(device, vf):
            CNIError(.rdmaIsolationFailed,
                     "RDMA device \(device) of VF \(vf) cannot be isolated: the RDMA subsystem is in shared netns mode",
                     details: "set exclusive mode at boot (options ib_core netns_mode=0) or with `rdma system set netns exclusive` "
                         + "while no other network namespaces exist, or set \"rdmaIsolation\": false")
        case let .notVisible(device, vf):
            CNIError(.rdmaIsolationFailed, "RDMA device \(device) of VF \(vf) is not visible in the host namespace")
        case let .moveRefused(device, vf, error):
            CNIError(.rdmaIsolationFailed, "RDMA device \(device) of VF \(vf) cannot move into the pod", details: error.description)
        }
    }
}
