internal import CNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An address on an interface (RTM_NEWADDR / RTM_GETADDR).
public struct InterfaceAddress: Equatable, Sendable {
    public var interfaceIndex: Int32
    /// The address with its prefix length, host bits kept: `10.56.0.5/24`.
    public var prefix: IPPrefix

    public init(interfaceIndex: Int32, prefix: IPPrefix) {
        self.interfaceIndex = interfaceIndex
        self.prefix = prefix
    }
}

extension RouteNetlink {
    /// The addresses of one interface, IPv4 and IPv6.
    public func addresses(index: Int32) throws -> [InterfaceAddress] {
        let message = try NetlinkMessage(type: Int(RTM_GETADDR))
        try message.appendHeader(ifaddrmsg())
        let replies = try socket.dump(message, operation: "list addresses", device: "ifindex \(index) in \(namespaceName)")
        return replies.compactMap { reply -> InterfaceAddress? in
            guard reply.type == UInt16(RTM_NEWADDR), let header = reply.payload.load(ifaddrmsg.self),
                  Int32(bitPattern: header.ifa_index) == index else { return nil }
            let attributes = Attributes(reply.payload.dropFirst((MemoryLayout<ifaddrmsg>.size + 3) & ~3))
            // IPv4 puts the interface's own address in IFA_LOCAL (IFA_ADDRESS is the peer
            // on point-to-point links); IPv6 has only IFA_ADDRESS.
            guard let bytes = attributes.bytes(Int(IFA_LOCAL)) ?? attributes.bytes(Int(IFA_ADDRESS)),
                  let address = IPAddress(bytes: bytes), let prefix = IPPrefix(address: address, length: header.ifa_prefixlen)
            else { return nil }
            return InterfaceAddress(interfaceIndex: index, prefix: prefix)
        }
    }

    /// Adds an address. IPv6 addresses skip duplicate address detection (IFA_F_NODAD)
    /// so that routes through them can be added at once, as the CNI result promises.
    public func addAddress(_ prefix: IPPrefix, index: Int32, device: String) throws {
        let message = try NetlinkMessage(type: Int(RTM_NEWADDR), flags: Int32(NLM_F_CREATE | NLM_F_EXCL))
        try message.appendHeader(addressHeader(prefix, index: index))
        try message.put(Int(IFA_LOCAL), bytes: prefix.address.bytes)
        try message.put(Int(IFA_ADDRESS), bytes: prefix.address.bytes)
        if !prefix.address.isIPv4 { try message.put(Int(IFA_FLAGS), u32: UInt32(IFA_F_NODAD)) }
        _ = try socket.request(message, operation: "add address \(prefix)", device: "\(device) in \(namespaceName)")
    }

    public func deleteAddress(_ prefix: IPPrefix, index: Int32, device: String) throws {
        let message = try NetlinkMessage(type: Int(RTM_DELADDR))
        try message.appendHeader(addressHeader(prefix, index: index))
        try message.put(Int(IFA_LOCAL), bytes: prefix.address.bytes)
        try message.put(Int(IFA_ADDRESS), bytes: prefix.address.bytes)
        _ = try socket.request(message, operation: "delete address \(prefix)", device: "\(device) in \(namespaceName)")
    }

    private func addressHeader(_ prefix: IPPrefix, index: Int32) -> ifaddrmsg {
        var header = ifaddrmsg()
        header.ifa_family = UInt8(prefix.address.family)
        header.ifa_prefixlen = prefix.length
        header.ifa_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
        header.ifa_index = UInt32(bitPattern: index)
        return header
    }
}
