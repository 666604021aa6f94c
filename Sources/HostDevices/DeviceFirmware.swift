/// What a device reports of its firmware through devlink (`devlink dev info`): the
/// driver, serial number and named versions. Intel's ice driver puts its DDP package
/// name in the version `fw.app.name`, which the `ddpProfiles` selector compares.
public struct DeviceFirmware: Hashable, Sendable {
    /// The devlink handle: `pci` and `0000:3b:00.0`, `netdevsim` and `netdevsim1`.
    public var bus: String
    public var device: String
    public var driver: String?
    public var serialNumber: String?
    public var versions: [FirmwareVersion]

    public init(bus: String, device: String, driver: String? = nil, serialNumber: String? = nil, versions: [FirmwareVersion] = []) {
        self.bus = bus
        self.device = device
        self.driver = driver
        self.serialNumber = serialNumber
        self.versions = versions
    }

    /// The PCI function this is, for a device on the PCI bus.
    public var pciAddress: PCIAddress? { bus == "pci" ? PCIAddress(device) : nil }

    /// A version by name: the running one first, then the stored, then the fixed.
    public func version(_ name: String) -> String? {
        for kind in [FirmwareVersion.Kind.running, .stored, .fixed] {
            if let match = versions.first(where: { $0.kind == kind && $0.name == name }) { return match.value }
        }
        return nil
    }

    /// The DDP package an Intel E800/700 device runs (`fw.app.name`), as SRIOV-DP reads it.
    public var ddpProfile: String? { version("fw.app.name").flatMap { $0.isEmpty ? nil : $0 } }
}

public struct FirmwareVersion: Hashable, Sendable {
    /// DEVLINK_ATTR_INFO_VERSION_FIXED, _RUNNING and _STORED.
    public enum Kind: String, Hashable, Sendable { case fixed, running, stored }
    public var kind: Kind
    public var name: String
    public var value: String

    public init(kind: Kind, name: String, value: String) {
        self.kind = kind
        self.name = name
        self.value = value
    }
}

/// Reads every devlink device's info: the devlink netlink family in production.
public protocol FirmwareQuery: Sendable {
    func devices() throws -> [DeviceFirmware]
}

/// What a scan learnt of devlink.
public enum FirmwareReading: Hashable, Sendable {
    /// No query was passed: `--sys-root` is not the host's, or no pool needs it.
    case notRead
    case read([DeviceFirmware])
    /// The query failed (no devlink family, no permission): the reason.
    case failed(String)
}
