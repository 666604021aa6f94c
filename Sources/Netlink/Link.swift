internal import CNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A network interface as RTM_GETLINK reports it.
public struct LinkInfo: Equatable, Sendable {
    public var index: Int32
    public var name: String
    public var hardwareAddress: [UInt8]
    public var mtu: UInt32
    /// IFF_UP: administratively up.
    public var isUp: Bool
    /// IFLA_IFALIAS, nil when unset.
    public var alias: String?
    /// IFLA_PROP_LIST › IFLA_ALT_IFNAME.
    public var altNames: [String]
    /// IFLA_PARENT_DEV_NAME: for a PCI netdev its PCI address (kernel 5.16 and later).
    public var parentDeviceName: String?
    /// IFLA_PARENT_DEV_BUS_NAME: "pci" for a PCI netdev.
    public var parentBusName: String?
    /// IFLA_LINKINFO › IFLA_INFO_KIND: "veth", "macvlan"; nil for hardware.
    public var kind: String?
    /// IFLA_NUM_VF: how many VFs a PF has enabled (nil when it is not a PF).
    public var virtualFunctionCount: Int?
    /// IFLA_VFINFO_LIST, filled only by `RouteNetlink.virtualFunctions(of:)`.
    public var virtualFunctions: [VirtualFunctionInfo]

    init?(payload: ArraySlice<UInt8>) {
        guard let header = payload.load(ifinfomsg.self) else { return nil }
        let attributes = Attributes(payload.dropFirst((MemoryLayout<ifinfomsg>.size + 3) & ~3))
        index = header.ifi_index
        name = attributes.string(Int(IFLA_IFNAME)) ?? ""
        hardwareAddress = attributes.bytes(Int(IFLA_ADDRESS)) ?? []
        mtu = attributes.u32(Int(IFLA_MTU)) ?? 0
        isUp = header.ifi_flags & UInt32(IFF_UP) != 0
        alias = attributes.string(Int(IFLA_IFALIAS)).flatMap { $0.isEmpty ? nil : $0 }
        altNames = attributes.nested(Int(IFLA_PROP_LIST))?.all(Int(IFLA_ALT_IFNAME))
            .map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } ?? []
        parentDeviceName = attributes.string(Int(IFLA_PARENT_DEV_NAME))
        parentBusName = attributes.string(Int(IFLA_PARENT_DEV_BUS_NAME))
        kind = attributes.nested(Int(IFLA_LINKINFO))?.string(Int(IFLA_INFO_KIND))
        virtualFunctionCount = attributes.u32(Int(IFLA_NUM_VF)).map(Int.init)
        virtualFunctions = attributes.nested(Int(IFLA_VFINFO_LIST))?.all(Int(IFLA_VF_INFO))
            .compactMap { VirtualFunctionInfo(attributes: Attributes($0)) } ?? []
    }

    public init(index: Int32, name: String, hardwareAddress: [UInt8] = [], mtu: UInt32 = 1500, isUp: Bool = false,
                alias: String? = nil, altNames: [String] = [], parentDeviceName: String? = nil, parentBusName: String? = nil,
                kind: String? = nil, virtualFunctionCount: Int? = nil, virtualFunctions: [VirtualFunctionInfo] = []) {
        self.index = index
        self.name = name
        self.hardwareAddress = hardwareAddress
        self.mtu = mtu
        self.isUp = isUp
        self.alias = alias
        self.altNames = altNames
        self.parentDeviceName = parentDeviceName
        self.parentBusName = parentBusName
        self.kind = kind
        self.virtualFunctionCount = virtualFunctionCount
        self.virtualFunctions = virtualFunctions
    }
}

/// What one RTM_SETLINK changes. Unset fields stay as they are.
public struct LinkChange: Sendable {
    public var name: String?
    public var hardwareAddress: [UInt8]?
    public var mtu: UInt32?
    public var up: Bool?
    /// An empty string clears the alias.
    public var alias: String?
    /// IFLA_NET_NS_FD: moves the link into this namespace.
    public var namespace: NetworkNamespace?

    public init(name: String? = nil, hardwareAddress: [UInt8]? = nil, mtu: UInt32? = nil, up: Bool? = nil,
                alias: String? = nil, namespace: NetworkNamespace? = nil) {
        self.name = name
        self.hardwareAddress = hardwareAddress
        self.mtu = mtu
        self.up = up
        self.alias = alias
        self.namespace = namespace
    }

    /// "rename to net1, set mtu 9000", for error messages.
    var summary: String {
        var parts: [String] = []
        if let name { parts.append("rename to \(name)") }
        if let hardwareAddress { parts.append("set MAC \(formatHardwareAddress(hardwareAddress))") }
        if let mtu { parts.append("set MTU \(mtu)") }
        if let up { parts.append(up ? "set up" : "set down") }
        if let alias { parts.append(alias.isEmpty ? "clear alias" : "set alias \(alias)") }
        if let namespace { parts.append("move to \(namespace.name)") }
        return parts.joined(separator: ", ")
    }
}

/// Colon-separated lower-case hex, the form `ip link` and sysfs print.
public func formatHardwareAddress(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }.joined(separator: ":")
}

/// Typed rtnetlink operations (NETLINK_ROUTE) in one network namespace: links, the
/// VF settings a PF holds for its VFs, addresses and routes.
public final class RouteNetlink {
    let socket: NetlinkSocket

    /// A socket in `namespace`, or in the calling thread's namespace when nil.
    public init(in namespace: NetworkNamespace? = nil) throws {
        socket = try NetlinkSocket(protocol: NETLINK_ROUTE, namespace: namespace)
    }

    /// Tests: a socket whose receive buffer starts at `bufferSize` bytes.
    init(in namespace: NetworkNamespace?, bufferSize: Int) throws {
        socket = try NetlinkSocket(protocol: NETLINK_ROUTE, namespace: namespace, bufferSize: bufferSize)
    }

    /// Where this socket acts, for messages.
    public var namespaceName: String { socket.namespaceName }

    // MARK: Links

    /// The link with this name (or alternative name), nil when there is none.
    public func link(named name: String) throws -> LinkInfo? {
        let message = try NetlinkMessage(type: Int(RTM_GETLINK))
        try message.appendHeader(ifinfomsg())
        try message.put(Int(IFLA_IFNAME), string: name)
        try message.put(Int(IFLA_EXT_MASK), u32: UInt32(RTEXT_FILTER_SKIP_STATS))
        return try getLink(message, device: "\(name) in \(namespaceName)")
    }

    /// The link with this index, nil when there is none.
    public func link(index: Int32) throws -> LinkInfo? {
        let message = try NetlinkMessage(type: Int(RTM_GETLINK))
        var header = ifinfomsg()
        header.ifi_index = index
        try message.appendHeader(header)
        try message.put(Int(IFLA_EXT_MASK), u32: UInt32(RTEXT_FILTER_SKIP_STATS))
        return try getLink(message, device: "ifindex \(index) in \(namespaceName)")
    }

    /// Every link in the namespace.
    public func links() throws -> [LinkInfo] {
        let message = try NetlinkMessage(type: Int(RTM_GETLINK))
        try message.appendHeader(ifinfomsg())
        try message.put(Int(IFLA_EXT_MASK), u32: UInt32(RTEXT_FILTER_SKIP_STATS))
        return try socket.dump(message, operation: "list links", device: namespaceName)
            .filter { $0.type == UInt16(RTM_NEWLINK) }
            .compactMap { LinkInfo(payload: $0.payload) }
    }

    private func getLink(_ message: NetlinkMessage, device: String) throws -> LinkInfo? {
        do {
            let replies = try socket.request(message, operation: "get link", device: device)
            return replies.first { $0.type == UInt16(RTM_NEWLINK) }.flatMap { LinkInfo(payload: $0.payload) }
        } catch let error as NetlinkError where error.errno == ENODEV {
            return nil
        }
    }

    /// Applies `change` to the link with `index` in one RTM_SETLINK. `device` names it
    /// in errors.
    public func setLink(index: Int32, device: String, _ change: LinkChange) throws {
        let message = try NetlinkMessage(type: Int(RTM_SETLINK))
        var header = ifinfomsg()
        header.ifi_index = index
        if let up = change.up {
            header.ifi_change = UInt32(IFF_UP)
            header.ifi_flags = up ? UInt32(IFF_UP) : 0
        }
        try message.appendHeader(header)
        if let name = change.name { try message.put(Int(IFLA_IFNAME), string: name) }
        if let address = change.hardwareAddress { try message.put(Int(IFLA_ADDRESS), bytes: address) }
        if let mtu = change.mtu { try message.put(Int(IFLA_MTU), u32: mtu) }
        if let alias = change.alias {
            // The kernel clears the alias for a zero-length value; a NUL would set "".
            if alias.isEmpty {
                try message.put(Int(IFLA_IFALIAS), bytes: [])
            } else {
                try message.put(Int(IFLA_IFALIAS), string: alias)
            }
        }
        if let namespace = change.namespace {
            try message.put(Int(IFLA_NET_NS_FD), u32: UInt32(bitPattern: namespace.descriptor))
        }
        _ = try socket.request(message, operation: change.summary, device: "\(device) in \(namespaceName)")
    }

    /// RTM_NEWLINKPROP: adds an alternative name (kernel 5.5 and later).
    public func addAltName(_ altName: String, index: Int32, device: String) throws {
        try linkProperty(Int(RTM_NEWLINKPROP), altName: altName, index: index,
                         operation: "add alternative name \(altName)", device: device)
    }

    /// RTM_DELLINKPROP: removes an alternative name.
    public func removeAltName(_ altName: String, index: Int32, device: String) throws {
        try linkProperty(Int(RTM_DELLINKPROP), altName: altName, index: index,
                         operation: "remove alternative name \(altName)", device: device)
    }

    private func linkProperty(_ type: Int, altName: String, index: Int32, operation: String, device: String) throws {
        let message = try NetlinkMessage(type: type)
        var header = ifinfomsg()
        header.ifi_index = index
        try message.appendHeader(header)
        try message.nested(Int(IFLA_PROP_LIST), flagNested: true) {
            try message.put(Int(IFLA_ALT_IFNAME), string: altName)
        }
        _ = try socket.request(message, operation: operation, device: "\(device) in \(namespaceName)")
    }
}
