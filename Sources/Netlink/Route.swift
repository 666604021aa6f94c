internal import CNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A route in a routing table (RTM_NEWROUTE / RTM_GETROUTE).
public struct RouteInfo: Equatable, Sendable {
    /// The destination; a zero-length prefix is the default route.
    public var destination: IPPrefix
    public var gateway: IPAddress?
    public var outputInterface: Int32?
    public var table: UInt32
    public var priority: UInt32?
    /// RTAX_MTU and RTAX_ADVMSS from RTA_METRICS.
    public var mtu: UInt32?
    public var advmss: UInt32?
    /// RT_SCOPE_*: 0 universe, 253 link, 254 host.
    public var scope: UInt8

    public init(destination: IPPrefix, gateway: IPAddress? = nil, outputInterface: Int32? = nil,
                table: UInt32 = 254 /* RT_TABLE_MAIN, include/uapi/linux/rtnetlink.h */, priority: UInt32? = nil, mtu: UInt32? = nil,
                advmss: UInt32? = nil, scope: UInt8? = nil) {
        self.destination = destination
        self.gateway = gateway
        self.outputInterface = outputInterface
        self.table = table
        self.priority = priority
        self.mtu = mtu
        self.advmss = advmss
        // A route without a gateway reaches its destination on the link.
        self.scope = scope ?? UInt8(gateway == nil ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue)
    }

    public var summary: String {
        var text = destination.length == 0 ? "default" : destination.description
        if let gateway { text += " via \(gateway)" }
        if table != UInt32(RT_TABLE_MAIN.rawValue) { text += " table \(table)" }
        return text
    }
}

extension RouteNetlink {
    /// The unicast routes of every table whose output interface is `index`.
    public func routes(index: Int32) throws -> [RouteInfo] {
        var result: [RouteInfo] = []
        for family in [AF_INET, AF_INET6] {
            let message = try NetlinkMessage(type: Int(RTM_GETROUTE))
            var header = rtmsg()
            header.rtm_family = UInt8(family)
            try message.appendHeader(header)
            let replies = try socket.dump(message, operation: "list routes", device: "ifindex \(index) in \(namespaceName)")
            for reply in replies where reply.type == UInt16(RTM_NEWROUTE) {
                guard let header = reply.payload.load(rtmsg.self), header.rtm_type == UInt8(RTN_UNICAST) else { continue }
                let attributes = Attributes(reply.payload.dropFirst((MemoryLayout<rtmsg>.size + 3) & ~3))
                guard let oif = attributes.u32(Int(RTA_OIF.rawValue)).map({ Int32(bitPattern: $0) }), oif == index else { continue }
                let zero = [UInt8](repeating: 0, count: family == AF_INET ? 4 : 16)
                let destinationBytes = attributes.bytes(Int(RTA_DST.rawValue)) ?? zero
                guard let address = IPAddress(bytes: destinationBytes),
                      let destination = IPPrefix(address: address, length: header.rtm_dst_len) else { continue }
                let metrics = attributes.nested(Int(RTA_METRICS.rawValue))
                result.append(RouteInfo(
                    destination: destination,
                    gateway: attributes.bytes(Int(RTA_GATEWAY.rawValue)).flatMap { IPAddress(bytes: $0) },
                    outputInterface: oif,
                    table: attributes.u32(Int(RTA_TABLE.rawValue)) ?? UInt32(header.rtm_table),
                    priority: attributes.u32(Int(RTA_PRIORITY.rawValue)),
                    mtu: metrics?.u32(Int(RTAX_MTU)),
                    advmss: metrics?.u32(Int(RTAX_ADVMSS)),
                    scope: header.rtm_scope))
            }
        }
        return result
    }

    /// Adds `route` through the interface `index`.
    public func addRoute(_ route: RouteInfo, index: Int32, device: String) throws {
        let message = try NetlinkMessage(type: Int(RTM_NEWROUTE), flags: Int32(NLM_F_CREATE | NLM_F_EXCL))
        var header = rtmsg()
        header.rtm_family = UInt8(route.destination.address.family)
        header.rtm_dst_len = route.destination.length
        header.rtm_table = route.table < 256 ? UInt8(route.table) : UInt8(RT_TABLE_UNSPEC.rawValue)
        header.rtm_protocol = UInt8(RTPROT_BOOT)
        header.rtm_scope = route.scope
        header.rtm_type = UInt8(RTN_UNICAST)
        try message.appendHeader(header)
        if route.destination.length > 0 {
            try message.put(Int(RTA_DST.rawValue), bytes: route.destination.network.address.bytes)
        }
        if let gateway = route.gateway { try message.put(Int(RTA_GATEWAY.rawValue), bytes: gateway.bytes) }
        try message.put(Int(RTA_OIF.rawValue), u32: UInt32(bitPattern: index))
        if route.table >= 256 { try message.put(Int(RTA_TABLE.rawValue), u32: route.table) }
        if let priority = route.priority { try message.put(Int(RTA_PRIORITY.rawValue), u32: priority) }
        if route.mtu != nil || route.advmss != nil {
            try message.nested(Int(RTA_METRICS.rawValue)) {
                if let mtu = route.mtu { try message.put(Int(RTAX_MTU), u32: mtu) }
                if let advmss = route.advmss { try message.put(Int(RTAX_ADVMSS), u32: advmss) }
            }
        }
        _ = try socket.request(message, operation: "add route \(route.summary)", device: "\(device) in \(namespaceName)")
    }
}
