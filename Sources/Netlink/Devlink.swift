internal import CNL
import HostDevices
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The devlink generic-netlink family (include/uapi/linux/devlink.h), for device
/// info. Its family ID is resolved by name through the generic-netlink controller
/// when the client opens; a kernel without devlink fails there, with the reason.
public final class Devlink {
    let socket: NetlinkSocket
    let family: UInt16

    public init(in namespace: NetworkNamespace? = nil) throws {
        socket = try NetlinkSocket(protocol: NETLINK_GENERIC, namespace: namespace)
        do {
            family = try Self.resolveFamily(DEVLINK_GENL_NAME, on: socket)
        } catch var error as NetlinkError where error.errno == ENOENT {
            error.kernelMessage = "this kernel has no devlink (CONFIG_NET_DEVLINK)"
            throw error
        }
    }

    /// CTRL_CMD_GETFAMILY: a family's ID from its name.
    static func resolveFamily(_ name: String, on socket: NetlinkSocket) throws -> UInt16 {
        let message = try NetlinkMessage(type: Int(GENL_ID_CTRL))
        try message.appendHeader(genlmsghdr(cmd: UInt8(CTRL_CMD_GETFAMILY), version: 1, reserved: 0))
        try message.put(Int(CTRL_ATTR_FAMILY_NAME), string: name)
        let replies = try socket.request(message, operation: "resolve the generic netlink family \(name)", device: "kernel")
        guard let id = replies.lazy.compactMap({ Attributes($0.payload.dropFirst(Self.headerSize)).u16(Int(CTRL_ATTR_FAMILY_ID)) }).first
        else {
            throw NetlinkError(operation: "resolve the generic netlink family \(name)", device: "kernel", errno: ENOENT,
                               kernelMessage: "the reply has no CTRL_ATTR_FAMILY_ID")
        }
        return id
    }

    /// struct genlmsghdr, padded to NLMSG_ALIGNTO: before a generic-netlink message's attributes.
    static let headerSize = (MemoryLayout<genlmsghdr>.size + 3) & ~3

    private func infoRequest() throws -> NetlinkMessage {
        let message = try NetlinkMessage(type: Int(family))
        try message.appendHeader(genlmsghdr(cmd: UInt8(DEVLINK_CMD_INFO_GET.rawValue), version: UInt8(DEVLINK_GENL_VERSION), reserved: 0))
        return message
    }

    /// The info of every devlink device in this namespace (a dump). A device whose
    /// driver cannot report info is left out by the kernel.
    public func allInfo() throws -> [DeviceFirmware] {
        try socket.dump(try infoRequest(), operation: "read devlink device info", device: "every devlink device")
            .compactMap { Self.parseInfo($0.payload.dropFirst(Self.headerSize)) }
    }

    /// A DEVLINK_CMD_INFO_GET reply's attributes; nil without a bus and device name.
    /// Versions keep the kernel's order within each kind.
    static func parseInfo(_ payload: ArraySlice<UInt8>) -> DeviceFirmware? {
        let attributes = Attributes(payload)
        guard let bus = attributes.string(Int(DEVLINK_ATTR_BUS_NAME.rawValue)),
              let device = attributes.string(Int(DEVLINK_ATTR_DEV_NAME.rawValue)) else { return nil }
        var versions: [FirmwareVersion] = []
        for (attribute, kind) in [(DEVLINK_ATTR_INFO_VERSION_FIXED, FirmwareVersion.Kind.fixed),
                                  (DEVLINK_ATTR_INFO_VERSION_RUNNING, .running), (DEVLINK_ATTR_INFO_VERSION_STORED, .stored)] {
            for nested in attributes.all(Int(attribute.rawValue)) {
                let version = Attributes(nested)
                if let name = version.string(Int(DEVLINK_ATTR_INFO_VERSION_NAME.rawValue)),
                   let value = version.string(Int(DEVLINK_ATTR_INFO_VERSION_VALUE.rawValue)) {
                    versions.append(FirmwareVersion(kind: kind, name: name, value: value))
                }
            }
        }
        return DeviceFirmware(bus: bus, device: device, driver: attributes.string(Int(DEVLINK_ATTR_INFO_DRIVER_NAME.rawValue)),
                              serialNumber: attributes.string(Int(DEVLINK_ATTR_INFO_SERIAL_NUMBER.rawValue)), versions: versions)
    }
}

/// devlink as discovery's firmware source: a socket for each scan that asks (only
/// `discover` and daemons with `ddpProfiles` selectors do), in this process's namespace.
public struct DevlinkFirmwareQuery: FirmwareQuery {
    public init() {}

    public func devices() throws -> [DeviceFirmware] {
        try Devlink().allInfo()
    }
}
