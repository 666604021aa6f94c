import JSONValue

/// A Multus device-info file (NPWG device-info spec v1.1.0): what the device plugin
/// writes at Allocate under `/var/run/k8s.cni.cncf.io/devinfo/dp` and the CNI reads
/// back from `runtimeConfig.CNIDeviceInfoFile`. The one definition of its keys for
/// both sides; `json` and `init(json:)` round-trip.
public struct DeviceInfo: Equatable, Sendable {
    public static let specVersion = "1.1.0"

    public enum Kind: Equatable, Sendable {
        case pci(PCI)
        case vdpa(VDPA)
    }

    /// `"pci": {"pci-address", "pf-pci-address", "rdma-device"}`.
    public struct PCI: Equatable, Sendable {
        public var pciAddress: String
        public var pfPCIAddress: String?
        public var rdmaDevice: String?
    }

    /// `"vdpa": {"parent-device", "driver", "path", "pci-address", "pf-pci-address"}`.
    public struct VDPA: Equatable, Sendable {
        public var parentDevice: String
        /// `vhost` or `virtio`.
        public var driver: String
        /// The vhost-vdpa character device, for vhost.
        public var path: String?
        public var pciAddress: String
        public var pfPCIAddress: String?
    }

    /// A `pci` file.
    public static func pci(_ pciAddress: String, pfPCIAddress: String? = nil, rdmaDevice: String? = nil) -> DeviceInfo {
        DeviceInfo(.pci(PCI(pciAddress: pciAddress, pfPCIAddress: pfPCIAddress, rdmaDevice: rdmaDevice)))
    }

    /// A `vdpa` file.
    public static func vdpa(parentDevice: String, driver: String, path: String? = nil, pciAddress: String,
                            pfPCIAddress: String? = nil) -> DeviceInfo {
        DeviceInfo(.vdpa(VDPA(parentDevice: parentDevice, driver: driver, path: path, pciAddress: pciAddress, pfPCIAddress: pfPCIAddress)))
    }

    public var kind: Kind
    public var version: String

    public init(_ kind: Kind, version: String = DeviceInfo.specVersion) {
        self.kind = kind
        self.version = version
    }

    /// Why a file's JSON is not a device-info file we understand.
    public enum ParseError: Error, Equatable, Sendable {
        /// Neither a `pci` nor a `vdpa` section with its `pci-address`.
        case noPCIAddress
    }

    /// Reads the spec's JSON. Unknown types and keys (`network`, `type: vhost-user`...)
    /// are not ours to hand out, so a file without a PCI address is an error. Empty
    /// optional values count as absent, as Go writers leave them.
    public init(json: JSON) throws(ParseError) {
        func text(_ section: JSON, _ key: String) -> String? {
            section[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        }
        version = json["version"]?.stringValue ?? DeviceInfo.specVersion
        switch json["type"]?.stringValue {
        case "vdpa"?:
            guard let section = json["vdpa"], let address = text(section, "pci-address") else { throw .noPCIAddress }
            kind = .vdpa(VDPA(parentDevice: text(section, "parent-device") ?? "", driver: text(section, "driver") ?? "",
                              path: text(section, "path"), pciAddress: address, pfPCIAddress: text(section, "pf-pci-address")))
        case "pci"?:
            guard let section = json["pci"], let address = text(section, "pci-address") else { throw .noPCIAddress }
            kind = .pci(PCI(pciAddress: address, pfPCIAddress: text(section, "pf-pci-address"), rdmaDevice: text(section, "rdma-device")))
        default:
            throw .noPCIAddress
        }
    }

    /// The file's JSON, keys sorted.
    public var json: JSON {
        var section: [String: String]
        let type: String
        switch kind {
        case .pci(let pci):
            type = "pci"
            section = ["pci-address": pci.pciAddress]
            section["pf-pci-address"] = pci.pfPCIAddress
            section["rdma-device"] = pci.rdmaDevice
        case .vdpa(let vdpa):
            type = "vdpa"
            section = ["parent-device": vdpa.parentDevice, "driver": vdpa.driver, "pci-address": vdpa.pciAddress]
            section["path"] = vdpa.path
            section["pf-pci-address"] = vdpa.pfPCIAddress
        }
        return JSON(sortingKeysOf: ["type": .string(type), "version": .string(version), type: JSON(sortingKeysOf: section)])
    }

    /// The PCI function the file names, whatever its type.
    public var pciAddress: String {
        switch kind {
        case .pci(let pci): pci.pciAddress
        case .vdpa(let vdpa): vdpa.pciAddress
        }
    }

    /// `<directory>/<resource>-<device>-device.json`, each `/` in either part replaced by
    /// `-` (network-attachment-definition-client's `GetCNIDeviceInfoPath`).
    public static func path(directory: String, resourceName: String, deviceID: String) -> String {
        func dashed(_ text: String) -> String { String(text.map { $0 == "/" ? "-" : $0 }) }
        return directory + "/" + dashed(resourceName) + "-" + dashed(deviceID) + "-device.json"
    }
}
