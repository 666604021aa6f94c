import DRADriver
import HostDevices
import KubeAPI
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
    /// Refuse a config with an unknown or misspelled key instead of ignoring it with a warning.
    public var strictConfig = false
    /// kubelet's plugin watcher directory (`/var/lib/kubelet/plugins_registry`). When it
    /// exists at start, pools register through it, as SRIOV-DP does: their sockets go
    /// there and kubelet finds them itself, after its restarts too. Otherwise pools
    /// register through kubelet.sock.
    public var pluginsRegistryDirectory: String?
    /// How often the node is re-read for health and rescans between kernel events.
    public var pollInterval: Duration = .seconds(1)
    public var logLevel: Logger.Level = .info
    /// Reads devlink device info for `ddpProfiles` selectors; nil when `roots` are not the host's.
    public var firmwareQuery: (any FirmwareQuery)?
    /// Pools served through DRA instead of the device plugin; nil: none.
    public var dra: DRASettings?

    public init(configPath: String, resourcePrefix: String) {
        self.configPath = configPath
        self.resourcePrefix = resourcePrefix
    }

    public var kubeletSocket: String { kubeletDirectory + "/kubelet.sock" }
    public var deviceInfoDirectory: String { stateDirectory + "/k8s.cni.cncf.io/devinfo/dp" }
    public var cdiDirectory: String { stateDirectory + "/cdi" }
    public var statusFile: String { DaemonStatus.path(stateDirectory: stateDirectory) }
}

/// Which pools go through DRA, and how the DRA driver reaches kubelet and the API server.
public struct DRASettings: Sendable {
    public enum Selection: Sendable, Equatable {
        /// Every configured pool.
        case all
        /// These resource names (`intel.com/sriov_a`, or without prefix `sriov_a`).
        case named(Set<String>)

        public func contains(qualifiedName: String, resourceName: String) -> Bool {
            switch self {
            case .all: true
            case .named(let names): names.contains(qualifiedName) || names.contains(resourceName)
            }
        }
    }

    public var selection: Selection
    public var service: DRAService.Configuration
    public var client: KubeClient

    public init(selection: Selection, service: DRAService.Configuration, client: KubeClient) {
        self.selection = selection
        self.service = service
        self.client = client
    }
}
