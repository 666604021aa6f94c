import JSONValue

/// The result of ADD (SPEC §5 "ADD Success"), held version-independently and printed
/// in the format of the config's `cniVersion`.
public struct CNIResult: Equatable, Sendable {
    public struct Interface: Equatable, Sendable {
        public var name: String
        public var mac: String?
        public var mtu: Int?
        public var sandbox: String?
        public var socketPath: String?
        /// The PCI address of the device behind the interface (1.1.0).
        public var pciID: String?

        public init(name: String, mac: String? = nil, mtu: Int? = nil, sandbox: String? = nil,
                    socketPath: String? = nil, pciID: String? = nil) {
            self.name = name
            self.mac = mac
            self.mtu = mtu
            self.sandbox = sandbox
            self.socketPath = socketPath
            self.pciID = pciID
        }
    }

    public struct IPConfig: Equatable, Sendable {
        /// CIDR form with the host bits: `10.56.0.5/24`.
        public var address: String
        public var gateway: String?
        /// Index into `interfaces`.
        public var interface: Int?

        public init(address: String, gateway: String? = nil, interface: Int? = nil) {
            self.address = address
            self.gateway = gateway
            self.interface = interface
        }

        /// "4" or "6", as 0.3.x and 0.4.0 results spell out.
        public var family: String { address.contains(":") ? "6" : "4" }
    }

    public struct Route: Equatable, Sendable {
        public var dst: String
        public var gw: String?
        public var mtu: Int?
        public var advmss: Int?
        public var priority: Int?
        public var table: Int?
        public var scope: Int?

        public init(dst: String, gw: String? = nil, mtu: Int? = nil, advmss: Int? = nil, priority: Int? = nil,
                    table: Int? = nil, scope: Int? = nil) {
            self.dst = dst
            self.gw = gw
            self.mtu = mtu
            self.advmss = advmss
            self.priority = priority
            self.table = table
            self.scope = scope
        }
    }

    public struct DNS: Equatable, Sendable {
        public var nameservers: [String] = []
        public var domain: String?
        public var search: [String] = []
        public var options: [String] = []

        public init(nameservers: [String] = [], domain: String? = nil, search: [String] = [], options: [String] = []) {
            self.nameservers = nameservers
            self.domain = domain
            self.search = search
            self.options = options
        }

        public var isEmpty: Bool { nameservers.isEmpty && domain == nil && search.isEmpty && options.isEmpty }
    }

    public var interfaces: [Interface]
    public var ips: [IPConfig]
    public var routes: [Route]
    public var dns: DNS

    public init(interfaces: [Interface] = [], ips: [IPConfig] = [], routes: [Route] = [], dns: DNS = DNS()) {
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
        self.dns = dns
    }
}

// MARK: - Reading

extension CNIResult {
    /// Reads a result of any served version: an IPAM plugin's reply or a prevResult.
    /// `ips[].version` is accepted and not needed; a 0.1.0/0.2.0 result (`ip4`, `ip6`)
    /// is read into `ips` and `routes`.
    public init(json: JSON) throws(CNIError) {
        guard json.objectValue != nil else {
            throw CNIError(.decodingFailure, "result is not a JSON object", details: json.typeName)
        }
        func list(_ key: String) throws(CNIError) -> [JSON] {
            guard let value = json[key], !value.isNull else { return [] }
            guard let array = value.arrayValue else {
                throw CNIError(.decodingFailure, "result field \(key) is not an array", details: value.typeName)
            }
            return array
        }
        func string(_ object: JSON, _ key: String, in field: String) throws(CNIError) -> String? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let text = value.stringValue else {
                throw CNIError(.decodingFailure, "result field \(field).\(key) is not a string", details: value.typeName)
            }
            return text
        }
        func int(_ object: JSON, _ key: String, in field: String) throws(CNIError) -> Int? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let number = value.intValue else {
                throw CNIError(.decodingFailure, "result field \(field).\(key) is not an integer", details: value.typeName)
            }
            return number
        }

        interfaces = []
        ips = []
        routes = []
        dns = DNS()
        if json["ips"] == nil, json["interfaces"] == nil, json["ip4"] != nil || json["ip6"] != nil {
            // 0.1.0 and 0.2.0: one IP per family, the routes inside it.
            for key in ["ip4", "ip6"] {
                guard let item = json[key], !item.isNull else { continue }
                guard let address = try string(item, "ip", in: key), address.contains("/") else {
                    throw CNIError(.decodingFailure, "result \(key) without an ip in CIDR form", details: item.serialized)
                }
                ips.append(IPConfig(address: address, gateway: try string(item, "gateway", in: key)))
                guard let value = item["routes"], !value.isNull else { continue }
                guard let array = value.arrayValue else {
                    throw CNIError(.decodingFailure, "result field \(key).routes is not an array", details: value.typeName)
                }
                for route in array {
                    guard let destination = try string(route, "dst", in: key + ".routes") else {
                        throw CNIError(.decodingFailure, "result route without dst", details: route.serialized)
                    }
                    routes.append(Route(dst: destination, gw: try string(route, "gw", in: key + ".routes")))
                }
            }
            if let dnsJSON = json["dns"], !dnsJSON.isNull { dns = try DNS(json: dnsJSON) }
            return
        }
        for item in try list("interfaces") {
            guard let name = try string(item, "name", in: "interfaces") else {
                throw CNIError(.decodingFailure, "result interface without a name")
            }
            interfaces.append(Interface(name: name, mac: try string(item, "mac", in: "interfaces"),
                                        mtu: try int(item, "mtu", in: "interfaces"),
                                        sandbox: try string(item, "sandbox", in: "interfaces"),
                                        socketPath: try string(item, "socketPath", in: "interfaces"),
                                        pciID: try string(item, "pciID", in: "interfaces")))
        }
        for item in try list("ips") {
            guard let address = try string(item, "address", in: "ips"), address.contains("/") else {
                throw CNIError(.decodingFailure, "result ip without an address in CIDR form", details: item.serialized)
            }
            ips.append(IPConfig(address: address, gateway: try string(item, "gateway", in: "ips"),
                                interface: try int(item, "interface", in: "ips")))
        }
        for item in try list("routes") {
            guard let destination = try string(item, "dst", in: "routes") else {
                throw CNIError(.decodingFailure, "result route without dst", details: item.serialized)
            }
            routes.append(Route(dst: destination, gw: try string(item, "gw", in: "routes"),
                                mtu: try int(item, "mtu", in: "routes"), advmss: try int(item, "advmss", in: "routes"),
                                priority: try int(item, "priority", in: "routes"), table: try int(item, "table", in: "routes"),
                                scope: try int(item, "scope", in: "routes")))
        }
        if let dnsJSON = json["dns"], !dnsJSON.isNull {
            dns = try DNS(json: dnsJSON)
        }
    }
}

extension CNIResult.DNS {
    /// The `dns` object of a result or of a network config.
    public init(json: JSON) throws(CNIError) {
        guard json.objectValue != nil else { throw CNIError(.decodingFailure, "dns is not an object", details: json.typeName) }
        func strings(_ key: String) throws(CNIError) -> [String] {
            guard let value = json[key], !value.isNull else { return [] }
            guard let array = value.arrayValue, array.allSatisfy({ $0.stringValue != nil }) else {
                throw CNIError(.decodingFailure, "dns.\(key) is not a list of strings", details: value.serialized)
            }
            return array.compactMap(\.stringValue)
        }
        self.init(nameservers: try strings("nameservers"), domain: json["domain"]?.stringValue,
                  search: try strings("search"), options: try strings("options"))
    }

    var json: JSON {
        var members: [(String, JSON)] = []
        if !nameservers.isEmpty { members.append(("nameservers", .array(nameservers.map(JSON.string)))) }
        if let domain { members.append(("domain", .string(domain))) }
        if !search.isEmpty { members.append(("search", .array(search.map(JSON.string)))) }
        if !options.isEmpty { members.append(("options", .array(options.map(JSON.string)))) }
        return .object(members)
    }
}

// MARK: - Printing

extension CNIResult {
    /// The result in the format of `version`: 1.1.0 adds interface mtu, socketPath and
    /// pciID and the route mtu, advmss, priority, table and scope; 0.3.x and 0.4.0 add
    /// `version` to every IP. `versionText` is echoed as given in the config.
    public func json(version: CNIVersion, versionText: String? = nil) -> JSON {
        if version < CNIVersion.firstWithIPList { return ipPerFamilyJSON(versionText ?? version.description) }
        let extended = version >= CNIVersion(1, 1, 0)
        let legacy = version < CNIVersion(1, 0, 0)
        var members: [(String, JSON)] = [("cniVersion", .string(versionText ?? version.description))]
        if !interfaces.isEmpty {
            members.append(("interfaces", .array(interfaces.map { interface in
                var fields: [(String, JSON)] = [("name", .string(interface.name))]
                if let mac = interface.mac { fields.append(("mac", .string(mac))) }
                if extended, let mtu = interface.mtu { fields.append(("mtu", JSON(mtu))) }
                if let sandbox = interface.sandbox { fields.append(("sandbox", .string(sandbox))) }
                if extended, let socketPath = interface.socketPath { fields.append(("socketPath", .string(socketPath))) }
                if extended, let pciID = interface.pciID { fields.append(("pciID", .string(pciID))) }
                return .object(fields)
            })))
        }
        if !ips.isEmpty {
            members.append(("ips", .array(ips.map { ip in
                var fields: [(String, JSON)] = []
                if legacy { fields.append(("version", .string(ip.family))) }
                if let interface = ip.interface { fields.append(("interface", JSON(interface))) }
                fields.append(("address", .string(ip.address)))
                if let gateway = ip.gateway { fields.append(("gateway", .string(gateway))) }
                return .object(fields)
            })))
        }
        if !routes.isEmpty {
            members.append(("routes", .array(routes.map { route in
                var fields: [(String, JSON)] = [("dst", .string(route.dst))]
                if let gw = route.gw { fields.append(("gw", .string(gw))) }
                if extended {
                    if let mtu = route.mtu { fields.append(("mtu", JSON(mtu))) }
                    if let advmss = route.advmss { fields.append(("advmss", JSON(advmss))) }
                    if let priority = route.priority { fields.append(("priority", JSON(priority))) }
                    if let table = route.table { fields.append(("table", JSON(table))) }
                    if let scope = route.scope { fields.append(("scope", JSON(scope))) }
                }
                return .object(fields)
            })))
        }
        members.append(("dns", dns.json))
        return .object(members)
    }
}

extension CNIResult {
    /// The 0.1.0/0.2.0 format, converted as libcni converts: interfaces dropped, the
    /// first IP of each family with its gateway, each route under the family of its
    /// destination.
    private func ipPerFamilyJSON(_ versionText: String) -> JSON {
        var members: [(String, JSON)] = [("cniVersion", .string(versionText))]
        for family in ["4", "6"] {
            guard let ip = ips.first(where: { $0.family == family }) else { continue }
            var fields: [(String, JSON)] = [("ip", .string(ip.address))]
            if let gateway = ip.gateway { fields.append(("gateway", .string(gateway))) }
            let familyRoutes = routes.filter { ($0.dst.contains(":") ? "6" : "4") == family }
            if !familyRoutes.isEmpty {
                fields.append(("routes", .array(familyRoutes.map { route in
                    var members: [(String, JSON)] = [("dst", .string(route.dst))]
                    if let gw = route.gw { members.append(("gw", .string(gw))) }
                    return .object(members)
                })))
            }
            members.append(("ip" + family, .object(fields)))
        }
        members.append(("dns", dns.json))
        return .object(members)
    }
}
