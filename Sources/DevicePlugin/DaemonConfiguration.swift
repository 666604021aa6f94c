import HostDevices
import Logging

/// Everything `sriov-rdma-dp run` is told on its command line.
public struct DaemonConfiguration: Sendable {
    public var configPath: String
    public var resourcePrefix: String
    /// kubelet's device-plugin directory, holding kubelet.sock and our sockets.
    public var kubeletDirectory = "/var/lib/kubelet/device-plugins"
    public var roots = HostRoots()
    /// Root of what we write: `<stateDir>/k8s.cni.cncf.io/devinfo/dp` for device-info
    /// files, `<stateDir>/cdi` for CDI specs, `<stateDir>/sriov-rdma-dp` for status.
    public var stateDirectory = "/var/run"
    public var useCDI = false
    /// How often the node is re-read for health and rescans between kernel events.
    public var pollInterval: Duration = .seconds(1)
    public var logLevel: Logger.Level = .info
    /// Reads devlink device info for `ddpProfiles` selectors; nil when `roots` are not the host's.
    public var firmwareQuery: (any FirmwareQuery)?

    public init(configPath: String, resourcePrefix: String) {
        self.configPath = configPath
        self.resourcePrefix = resourcePrefix
    }

    public var kubeletSocket: String { kubeletDirectory + "/kubelet.sock" }
    public var deviceInfoDirectory: String { stateDirectory + "/k8s.cni.cncf.io/devinfo/dp" }
    public var cdiDirectory: String { stateDirectory + "/cdi" }
    public var statusFile: String { DaemonStatus.path(stateDirectory: stateDirectory) }
}

/// kubelet's check of an extended resource name (v1helper.IsExtendedResourceName),
/// done before Register so a bad name fails here with a clear message.
public enum ResourceNameValidation {
    public static func problem(with name: String) -> String? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return "\"\(name)\" must be <domain>/<name>" }
        if name.contains("kubernetes.io/") { return "\"\(name)\" must not be in the kubernetes.io namespace" }
        if name.hasPrefix("requests.") { return "\"\(name)\" must not start with \"requests.\"" }
        let domain = "requests." + parts[0]
        guard domain.utf8.count <= 253, !parts[0].isEmpty,
              domain.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ label in
                  let bytes = Array(label.utf8)
                  guard (1...63).contains(bytes.count), let first = bytes.first, let last = bytes.last else { return false }
                  func ok(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x61...0x7a).contains(b) }
                  return ok(first) && ok(last) && bytes.allSatisfy { ok($0) || $0 == UInt8(ascii: "-") }
              }) else { return "\"\(parts[0])\" is not a DNS subdomain" }
        let local = Array(parts[1].utf8)
        func alnum(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b) }
        guard (1...63).contains(local.count), alnum(local.first!), alnum(local.last!),
              local.allSatisfy({ alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }) else {
            return "\"\(parts[1])\" must be at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric"
        }
        return nil
    }
}
