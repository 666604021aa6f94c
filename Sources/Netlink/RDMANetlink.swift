internal import CNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The RDMA subsystem's network-namespace mode (RDMA_NLDEV_SYS_ATTR_NETNS_MODE).
/// In shared mode every namespace sees every RDMA device; in exclusive mode a device
/// belongs to one namespace and can be moved like a netdev.
public enum RDMANetnsMode: UInt8, Sendable {
    case exclusive = 0
    case shared = 1
}

/// An RDMA device as RDMA_NLDEV_CMD_GET lists it.
public struct RDMADeviceEntry: Equatable, Sendable {
    public var index: UInt32
    public var name: String
}

/// A port of an RDMA device and the netdev behind it (RDMA_NLDEV_CMD_PORT_GET).
public struct RDMAPortEntry: Equatable, Sendable {
    public var deviceIndex: UInt32
    public var deviceName: String
    public var port: UInt32
    public var netdevIndex: Int32?
    public var netdevName: String?
}

/// RDMA netlink (NETLINK_RDMA, the NLDEV client of include/uapi/rdma/rdma_netlink.h)
/// in one network namespace. libnl has no helpers for this family, so messages are
/// plain netlink messages with NLDEV attributes and no family header.
public final class RDMANetlink {
    let socket: NetlinkSocket

    public init(in namespace: NetworkNamespace? = nil) throws {
        socket = try NetlinkSocket(protocol: NETLINK_RDMA, namespace: namespace)
    }

    public var namespaceName: String { socket.namespaceName }

    /// RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, op): the client in the upper bits, the op below.
    private static func messageType(_ command: rdma_nldev_command) -> Int {
        (Int(RDMA_NL_NLDEV) << 10) + Int(command.rawValue)
    }

    private static func attribute(_ attribute: rdma_nldev_attr) -> Int { Int(attribute.rawValue) }

    /// The RDMA devices visible in this namespace.
    public func devices() throws -> [RDMADeviceEntry] {
        let message = try NetlinkMessage(type: Self.messageType(RDMA_NLDEV_CMD_GET))
        return try socket.dump(message, operation: "list RDMA devices", device: namespaceName).compactMap { reply in
            let attributes = Attributes(reply.payload)
            guard let index = attributes.u32(Self.attribute(RDMA_NLDEV_ATTR_DEV_INDEX)),
                  let name = attributes.string(Self.attribute(RDMA_NLDEV_ATTR_DEV_NAME)) else { return nil }
            return RDMADeviceEntry(index: index, name: name)
        }
    }

    /// Every port of every visible RDMA device, with its netdev when it has one.
    public func ports() throws -> [RDMAPortEntry] {
        let message = try NetlinkMessage(type: Self.messageType(RDMA_NLDEV_CMD_PORT_GET))
        return try socket.dump(message, operation: "list RDMA ports", device: namespaceName).compactMap { reply in
            let attributes = Attributes(reply.payload)
            guard let index = attributes.u32(Self.attribute(RDMA_NLDEV_ATTR_DEV_INDEX)),
                  let name = attributes.string(Self.attribute(RDMA_NLDEV_ATTR_DEV_NAME)),
                  let port = attributes.u32(Self.attribute(RDMA_NLDEV_ATTR_PORT_INDEX)) else { return nil }
            return RDMAPortEntry(
                deviceIndex: index, deviceName: name, port: port,
                netdevIndex: attributes.u32(Self.attribute(RDMA_NLDEV_ATTR_NDEV_INDEX)).map { Int32(bitPattern: $0) },
                netdevName: attributes.string(Self.attribute(RDMA_NLDEV_ATTR_NDEV_NAME)))
        }
    }

    /// The system-wide netns mode (RDMA_NLDEV_CMD_SYS_GET).
    public func netnsMode() throws -> RDMANetnsMode {
        let message = try NetlinkMessage(type: Self.messageType(RDMA_NLDEV_CMD_SYS_GET))
        let replies = try socket.request(message, operation: "read the RDMA netns mode", device: namespaceName)
        guard let raw = replies.lazy.compactMap({ Attributes($0.payload).u8(Self.attribute(RDMA_NLDEV_SYS_ATTR_NETNS_MODE)) }).first,
              let mode = RDMANetnsMode(rawValue: raw) else {
            throw NetlinkError(operation: "read the RDMA netns mode", device: namespaceName, errno: EPROTONOSUPPORT,
                               kernelMessage: "the kernel did not report RDMA_NLDEV_SYS_ATTR_NETNS_MODE")
        }
        return mode
    }

    /// Moves an RDMA device into `namespace` (RDMA_NLDEV_CMD_SET with RDMA_NLDEV_NET_NS_FD).
    /// Only exclusive mode allows it; the device must be visible in this socket's namespace.
    public func moveDevice(index: UInt32, name: String, to namespace: NetworkNamespace) throws {
        let message = try NetlinkMessage(type: Self.messageType(RDMA_NLDEV_CMD_SET))
        try message.put(Self.attribute(RDMA_NLDEV_ATTR_DEV_INDEX), u32: index)
        try message.put(Self.attribute(RDMA_NLDEV_NET_NS_FD), u32: UInt32(bitPattern: namespace.descriptor))
        _ = try socket.request(message, operation: "move RDMA device to \(namespace.name)", device: "\(name) in \(namespaceName)")
    }
}
