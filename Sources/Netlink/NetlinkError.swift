#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A netlink request the kernel refused, or a socket or namespace call that failed.
/// It names the operation and the device, and gives the kernel's reason: the errno
/// and, when the kernel sent one, its extended-ack message.
public struct NetlinkError: Error, Equatable, CustomStringConvertible {
    /// What was attempted: "set VF 2 vlan 100 qos 0 proto 802.1Q", "rename", "move to netns".
    public var operation: String
    /// The device it was attempted on: "enp1s0 (PF of VF 2)", "net1", "rxe0".
    public var device: String
    /// The positive errno the kernel (or the C library) returned.
    public var errno: Int32
    /// The kernel's extended-ack text (NLMSGERR_ATTR_MSG), when there was one.
    public var kernelMessage: String?

    public init(operation: String, device: String, errno: Int32, kernelMessage: String? = nil) {
        self.operation = operation
        self.device = device
        self.errno = errno
        self.kernelMessage = kernelMessage
    }

    /// The errno's name and text, like "EOPNOTSUPP (Operation not supported)".
    public var reason: String {
        var text = "\(Self.errnoName(errno)) (\(String(cString: strerror(errno))))"
        if let kernelMessage, !kernelMessage.isEmpty { text += ": \(kernelMessage)" }
        return text
    }

    public var description: String { "\(operation) on \(device) failed: \(reason)" }

    static func errnoName(_ code: Int32) -> String {
        switch code {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case ENODEV: "ENODEV"
        case EINVAL: "EINVAL"
        case ERANGE: "ERANGE"
        case ENOSPC: "ENOSPC"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ENETUNREACH: "ENETUNREACH"
        case ETIMEDOUT: "ETIMEDOUT"
        case EPROTONOSUPPORT: "EPROTONOSUPPORT"
        case ESRCH: "ESRCH"
        default: "errno \(code)"
        }
    }
}
