import HostDevices
import JSONValue

extension PoolsConfig {
    /// SRIOV-DP's default prefix, so existing configs and pod specs keep working.
    public static let defaultResourcePrefix = "intel.com"
    /// k8s-rdma-shared-dev-plugin's default prefix for shared RDMA pools.
    public static let defaultSharedRDMAPrefix = "rdma"

    /// Parses a config file: SRIOV-DP's `{"resourceList": [...]}` unchanged, shared
    /// RDMA pools (`deviceType: rdmaShared` or an entry with `rdmaHcaMax`), and
    /// k8s-rdma-shared-dev-plugin's `{"configList": [...]}`. Keys are read as those
    /// plugins' Go decoder reads them: a known key in any case, an unknown one ignored
    /// (with a warning in `warnings`); `strict` makes an unknown or misspelled key an
    /// error. An invalid value is always an error that names the resource, the key and
    /// the value.
    public static func parse(_ data: some Collection<UInt8>, defaultPrefix: String = defaultResourcePrefix,
                             strict: Bool = false) throws(ConfigError) -> PoolsConfig {
        var keys = KeyMatcher(strict: strict)
        let root: JSON
        do throws(JSONSyntaxError) {
            root = try JSON.parse(data)
        } catch {
            throw ConfigError(resource: nil, key: nil, .invalidValue("not valid JSON: \(error.reason) at byte \(error.offset)"))
        }
        guard let pairs = root.objectValue else {
            throw ConfigError(resource: nil, key: nil, .invalidValue("the top level must be an object with \"resourceList\""))
        }
        let object = try keys.members(pairs, known: ["resourceList", "configList", "periodicUpdateInterval"], resource: nil, path: nil)
        // k8s-rdma-shared-dev-plugin's rescan period (seconds, 0 = never). Accepted so its
        // files load unchanged; rescans here follow kernel events and --poll-interval.
        if let interval = object["periodicUpdateInterval"], (interval.intValue ?? -1) < 0 {
            throw ConfigError(resource: nil, key: "periodicUpdateInterval",
                              .invalidValue("\(describe(interval)) is not a whole number of seconds (0 or more)"))
        }
        var pools: [PoolConfig] = []
        for (listKey, shared) in [("resourceList", false), ("configList", true)] {
            guard let raw = object[listKey] else { continue }
            guard let list = raw.arrayValue else {
                throw ConfigError(resource: nil, key: listKey, .invalidValue("must be a list of resources"))
            }
            for (index, entry) in list.enumerated() {
                guard let entry = entry.objectValue else {
                    throw ConfigError(resource: nil, key: "\(listKey)[\(index)]", .invalidValue("must be an object"))
                }
                pools.append(try parsePool(entry, sharedList: shared, defaultPrefix: defaultPrefix, keys: &keys))
            }
        }
        if object["resourceList"] == nil && object["configList"] == nil {
            throw ConfigError(resource: nil, key: nil, .missingKey("resourceList"))
        }
        // Both Go plugins exit on a file that configures nothing; a daemon serving no
        // pool is a mistake an operator should see at once.
        if pools.isEmpty {
            let key = object["resourceList"] != nil ? "resourceList" : "configList"
            throw ConfigError(resource: nil, key: key, .invalidValue("is empty: no resource is configured"))
        }
        var seen: Set<String> = []
        for pool in pools where !seen.insert(pool.qualifiedName).inserted {
            throw ConfigError(resource: pool.resourceName, key: nil, .invalidValue("\"\(pool.qualifiedName)\" is defined twice"))
        }
        var config = PoolsConfig(pools: pools)
        config.warnings = keys.warnings
        return config
    }

    private static let poolKeys: Set<String> = [
        "resourceName", "resourcePrefix", "deviceType", "excludeTopology", "selectors", "additionalInfo",
        "rdmaHcaMax", "allocationPolicy", "devices",
    ]
    /// SRIOV-DP's ResourceConfig field for its decoded selectors, which
    /// sriov-network-operator writes out as `"SelectorObj": null`: nothing to read.
    private static let ignoredPoolKeys: Set<String> = ["SelectorObj", "SelectorObjs"]

    private static func parsePool(_ pairs: [(String, JSON)], sharedList: Bool, defaultPrefix: String,
                                  keys: inout KeyMatcher) throws(ConfigError) -> PoolConfig {
        let nameValue = pairs.last { $0.0 == "resourceName" }?.1
            ?? (keys.strict ? nil : pairs.last { $0.0.lowercased() == "resourcename" }?.1)
        guard let nameValue else { throw ConfigError(resource: nil, key: nil, .missingKey("resourceName")) }
        guard let name = nameValue.stringValue else {
            throw ConfigError(resource: nil, key: "resourceName", .invalidValue("must be a string, not \(describe(nameValue))"))
        }
        func fail(_ key: String?, _ reason: ConfigError.Reason) -> ConfigError { ConfigError(resource: name, key: key, reason) }

        if let problem = ResourceName.problem(withName: name) { throw fail("resourceName", .invalidValue(problem)) }
        let entry = try keys.members(pairs, known: poolKeys, ignored: ignoredPoolKeys, resource: name, path: nil)

        var deviceType: DeviceType = sharedList || entry["rdmaHcaMax"] != nil ? .rdmaShared : .netDevice
        if let raw = entry["deviceType"] {
            guard let text = raw.stringValue else { throw fail("deviceType", .invalidValue("must be a string, not \(describe(raw))")) }
            guard let parsed = DeviceType(rawValue: text) else {
                throw fail("deviceType", .invalidValue("\"\(text)\" is not one of netDevice, accelerator, auxNetDevice, rdmaShared"))
            }
            deviceType = parsed
        }
        let prefix = try string(entry, "resourcePrefix", resource: name)
            ?? (deviceType == .rdmaShared ? defaultSharedRDMAPrefix : defaultPrefix)
        let resource: ResourceName
        do throws(ResourceName.Problem) {
            resource = try ResourceName(prefix: prefix, name: name)
        } catch {
            switch error {
            case .name(let problem): throw fail("resourceName", .invalidValue(problem))
            case .prefix(let problem): throw fail("resourcePrefix", .invalidValue(problem))
            }
        }
        var pool = PoolConfig(resource: resource, deviceType: deviceType)
        if let raw = entry["excludeTopology"] {
            guard let flag = raw.boolValue else { throw fail("excludeTopology", .invalidValue("must be true or false, not \(describe(raw))")) }
            pool.excludeTopology = flag
        }
        if let raw = entry["allocationPolicy"] {
            guard let text = raw.stringValue, let policy = AllocationPolicy(rawValue: text) else {
                throw fail("allocationPolicy", .invalidValue("\(describe(raw)) is not one of spread, pack"))
            }
            pool.allocationPolicy = policy
        }
        if let raw = entry["rdmaHcaMax"] {
            guard deviceType == .rdmaShared else { throw fail("rdmaHcaMax", .invalidValue("only applies to deviceType rdmaShared")) }
            // 0 is a resource with no devices, as in k8s-rdma-shared-dev-plugin.
            guard let count = raw.intValue, (0...10_000).contains(count) else {
                throw fail("rdmaHcaMax", .invalidValue("\(describe(raw)) is not a whole number from 0 to 10000"))
            }
            pool.rdmaHcaMax = count
        } else if deviceType == .rdmaShared {
            throw fail(nil, .missingKey("rdmaHcaMax"))
        }
        if let raw = entry["additionalInfo"] {
            guard let info = raw.members else { throw fail("additionalInfo", .invalidValue("must be an object")) }
            for (device, values) in info {
                let auxiliary = deviceType == .auxNetDevice && isAuxiliaryDeviceName(device)
                guard device == "*" || PCIAddress(device) != nil || auxiliary else {
                    let what = deviceType == .auxNetDevice ? "a PCI address nor an auxiliary device name" : "a PCI address"
                    throw fail("additionalInfo", .invalidValue("key \"\(device)\" is neither \"*\" nor \(what)"))
                }
                guard let map = values.members else { throw fail("additionalInfo.\(device)", .invalidValue("must be an object")) }
                var strings: [String: String] = [:]
                for (key, value) in map {
                    guard let text = value.stringValue else {
                        throw fail("additionalInfo.\(device).\(key)", .invalidValue("must be a string, not \(describe(value))"))
                    }
                    strings[key] = text
                }
                pool.additionalInfo[device] = strings
            }
        }
        func selector(_ pairs: [(String, JSON)], path: String) throws(ConfigError) -> Selector {
            let object = try keys.members(pairs, known: SelectorParser.keys[deviceType] ?? [], resource: name, path: path)
            return try SelectorParser.parse(object, deviceType: deviceType, resource: name, path: path)
        }
        switch entry["selectors"] {
        case nil, .null?:
            pool.selectors = [Selector()]
        case .array(let list)?:
            for (index, item) in list.enumerated() {
                guard let pairs = item.objectValue else { throw fail("selectors[\(index)]", .invalidValue("must be an object")) }
                pool.selectors.append(try selector(pairs, path: "selectors[\(index)]"))
            }
            if pool.selectors.isEmpty { pool.selectors = [Selector()] }
        case .object(let pairs)?:
            pool.selectors = [try selector(pairs, path: "selectors")]
        case let other?:
            throw fail("selectors", .invalidValue("must be an object or a list of objects, not \(describe(other))"))
        }
        if sharedList {
            // k8s-rdma-shared-dev-plugin's rule for configList: devices or selectors, not
            // both and not neither (a selector whose lists are all empty counts as none).
            let chooses = pool.selectors.contains { selector in
                [selector.vendors, selector.devices, selector.drivers, selector.linkTypes, selector.ifNames,
                 selector.rdmaDevices].contains { !($0 ?? []).isEmpty } || !(selector.pciAddresses ?? []).isEmpty
            }
            if entry["devices"] != nil && chooses {
                throw fail("devices", .invalidValue("cannot be combined with selectors: put the netdev names in selectors.ifNames"))
            }
            if entry["devices"] == nil && !chooses {
                throw fail("selectors", .invalidValue("missing: a configList resource needs selectors, or devices (netdev names), to choose its RDMA devices"))
            }
        }
        if let raw = entry["devices"] {
            // k8s-rdma-shared-dev-plugin's older form: netdev names beside the selectors.
            guard deviceType == .rdmaShared else { throw fail(nil, .unknownKey("devices")) }
            guard let names = raw.arrayValue?.compactMap(\.stringValue), names.count == raw.arrayValue?.count else {
                throw fail("devices", .invalidValue("must be a list of netdev names, not \(describe(raw))"))
            }
            for index in pool.selectors.indices { pool.selectors[index].ifNames = (pool.selectors[index].ifNames ?? []) + names }
        }
        if pool.selectors.contains(where: { $0.isRdma == true && $0.vdpaType != nil }) {
            throw fail("selectors", .invalidValue("isRdma and vdpaType cannot be combined"))
        }
        return pool
    }

    private static func string(_ entry: [String: JSON], _ key: String, resource: String) throws(ConfigError) -> String? {
        guard let raw = entry[key] else { return nil }
        guard let text = raw.stringValue else {
            throw ConfigError(resource: resource, key: key, .invalidValue("must be a string, not \(describe(raw))"))
        }
        return text
    }
}

extension JSON {
    /// An object's members by key, the last of a repeated key winning (as in
    /// JSONSerialization and Go's encoding/json); nil for other values.
    var members: [String: JSON]? {
        guard let pairs = objectValue else { return nil }
        return Dictionary(pairs, uniquingKeysWith: { _, last in last })
    }
}

/// A value as an error message shows it: strings quoted, numbers as written.
func describe(_ value: JSON) -> String {
    switch value {
    case .string(let text): "\"\(text)\""
    case .number(let text): text
    case .bool(let flag): flag ? "true" : "false"
    case .array: "a list"
    case .object: "an object"
    case .null: "null"
    }
}
