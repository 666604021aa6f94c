import CNI
import Netlink

/// A change the kernel refused: the message names the operation, the device and the
/// kernel's reason.
extension NetlinkError: CNIErrorConvertible {
    public var cniError: CNIError { CNIError(.deviceOperationFailed, description) }
}
