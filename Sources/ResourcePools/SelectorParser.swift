import HostDevices
import JSONValue

/// Turns one selector object (its keys already matched by `KeyMatcher` against `keys`,
/// the ones its device type has in SRIOV-DP and k8s-rdma-shared-dev-plugin) into a
/// `Selector`.
enum SelectorParser {
    static let keys: [DeviceType: Set<String>] = [
        .netDevice: ["vendors", "devices", "drivers", "pciAddresses", "acpiIndexes", "pfNames", "rootDevices",
                     "linkTypes", "ddpProfiles", "pKeys", "isRdma", "needVhostNet", "vdpaType"],
        .accelerator: ["vendors", "devices", "drivers", "pciAddresses", "acpiIndexes"],
        // vendors, devices, drivers and acpiIndexes are the parent PF's; pfNames ranges count sfnum.
        .auxNetDevice: ["vendors", "devices", "drivers", "acpiIndexes", "pfNames", "rootDevices", "linkTypes", "isRdma",
                        "needVhostNet", "auxTypes"],
        .rdmaShared: ["vendors", "deviceIDs", "devices", "drivers", "pciAddresses", "ifNames", "linkTypes", "rdmaDevices"],
    ]

    static func parse(_ object: [String: JSON], deviceType: DeviceType, resource: String, path: String) throws(ConfigError) -> Selector {
        func fail(_ key: String, _ message: String) -> ConfigError {
            ConfigError(resource: resource, key: "\(path).\(key)", .invalidValue(message))
        }
        func strings(_ key: String) throws(ConfigError) -> [String]? {
            guard let raw = object[key] else { return nil }
            guard let list = raw.arrayValue else { throw fail(key, "must be a list of strings, not \(describe(raw))") }
            var result: [String] = []
            for item in list {
                guard let text = item.stringValue else { throw fail(key, "must be a list of strings; \(describe(item)) is not a string") }
                result.append(text)
            }
            return result
        }
        func hexIDs(_ key: String) throws(ConfigError) -> [String]? {
            guard let list = try strings(key) else { return nil }
            var ids: [String] = []
            for text in list {
                var digits = Substring(text.lowercased())
                if digits.hasPrefix("0x") { digits = digits.dropFirst(2) }
                guard digits.count == 4, UInt16(digits, radix: 16) != nil else {
                    throw fail(key, "\"\(text)\" is not a 4-digit hex ID such as \"8086\"")
                }
                ids.append(String(digits))
            }
            return ids
        }
        func addresses(_ key: String) throws(ConfigError) -> [PCIAddress]? {
            guard let list = try strings(key) else { return nil }
            var result: [PCIAddress] = []
            for text in list {
                guard let address = PCIAddress(text) else { throw fail(key, "\"\(text)\" is not a PCI address such as \"0000:3b:02.0\"") }
                result.append(address)
            }
            return result
        }
        func acpiIndexes() throws(ConfigError) -> [Int]? {
            guard let list = try strings("acpiIndexes") else { return nil }
            var result: [Int] = []
            for text in list {
                guard let index = Int(text), index > 0 else { throw fail("acpiIndexes", "\"\(text)\" is not a positive ACPI index") }
                result.append(index)
            }
            return result
        }
        func pfNames() throws(ConfigError) -> [PFNameSelector]? {
            guard let list = try strings("pfNames") else { return nil }
            var result: [PFNameSelector] = []
            for text in list {
                do throws(ConfigError.Reason) {
                    result.append(try PFNameSelector.parse(text))
                } catch {
                    throw ConfigError(resource: resource, key: "\(path).pfNames", error)
                }
            }
            return result
        }
        func rootDevices() throws(ConfigError) -> [RootDeviceSelector]? {
            guard let list = try strings("rootDevices") else { return nil }
            var result: [RootDeviceSelector] = []
            for text in list {
                // `<PF address>` or, as with pfNames, `<PF address>#<first>-<last>,<n>`.
                let parsed: PFNameSelector
                do throws(ConfigError.Reason) {
                    parsed = try PFNameSelector.parse(text)
                } catch {
                    throw ConfigError(resource: resource, key: "\(path).rootDevices", error)
                }
                guard let address = PCIAddress(parsed.pf) else {
                    throw fail("rootDevices", "\"\(text)\" is not a PF's PCI address such as \"0000:3b:00.0\", optionally with #<VF ranges>")
                }
                result.append(RootDeviceSelector(pf: address, vfIndexes: parsed.vfIndexes))
            }
            return result
        }
        func pKeys() throws(ConfigError) -> [PartitionKey]? {
            guard let list = try strings("pKeys") else { return nil }
            var result: [PartitionKey] = []
            for text in list {
                guard let key = PartitionKey(text) else { throw fail("pKeys", "\"\(text)\" is not a 16-bit hex P_Key such as \"0x8001\"") }
                result.append(key)
            }
            return result
        }
        func flag(_ key: String) throws(ConfigError) -> Bool? {
            guard let raw = object[key] else { return nil }
            guard let value = raw.boolValue else { throw fail(key, "must be true or false, not \(describe(raw))") }
            return value
        }

        var selector = Selector()
        selector.vendors = try hexIDs("vendors")
        // k8s-rdma-shared-dev-plugin calls device IDs `deviceIDs`.
        selector.devices = try hexIDs("devices")
        if selector.devices == nil { selector.devices = try hexIDs("deviceIDs") }
        selector.drivers = try strings("drivers")
        selector.pciAddresses = try addresses("pciAddresses")
        selector.rootDevices = try rootDevices()
        selector.acpiIndexes = try acpiIndexes()
        selector.pfNames = try pfNames()
        selector.linkTypes = try strings("linkTypes")?.map { $0.lowercased() }
        selector.ddpProfiles = try strings("ddpProfiles")
        selector.pKeys = try pKeys()
        selector.isRdma = try flag("isRdma")
        selector.needVhostNet = try flag("needVhostNet")
        if let raw = object["vdpaType"] {
            guard let text = raw.stringValue, ["vhost", "virtio"].contains(text) else {
                throw fail("vdpaType", "\(describe(raw)) is not one of vhost, virtio")
            }
            selector.vdpaType = text
        }
        if let types = try strings("auxTypes") {
            // SRIOV-DP's rule: only scalable functions have an sfnum and a netdev of their own.
            if let other = types.first(where: { $0 != "sf" }) {
                throw fail("auxTypes", "\"\(other)\" is not a supported auxiliary device type (only \"sf\", scalable functions)")
            }
            selector.auxTypes = types
        }
        selector.ifNames = try strings("ifNames")
        selector.rdmaDevices = try strings("rdmaDevices")
        return selector
    }
}
