import DRACheckpoint
import DevicePluginAPI
import HostDevices
import JSONValue
import KubeAPI
import ResourcePools
import Synchronization
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// The DRA driver as the daemon runs it: the kubelet plugin (registration, Prepare,
/// Unprepare, health), the ResourceSlice publisher and the claim status writer, all
/// fed from the daemon's rescans through `update`.
public final class DRAService: Sendable {
    public struct Configuration: Sendable {
        public var names: DRANames
        /// kubelet's plugin watcher directory (`/var/lib/kubelet/plugins_registry`).
        public var pluginsRegistryDirectory: String
        /// `/var/lib/kubelet/plugins/<driver>`: the endpoint `dra.sock` and the checkpoint.
        public var pluginDirectory: String
        /// Where claim CDI specs go (`/var/run/cdi`).
        public var cdiDirectory: String
        /// Our CNI's state directory (its `stateDir`, `/run/sriov-rdma/cni` unless a
        /// network sets another): its records give the claims' `networkData`. Nil: none.
        public var cniStateDirectory: String?

        public static let defaultCNIStateDirectory = "/run/sriov-rdma/cni"

        public init(names: DRANames, pluginsRegistryDirectory: String, pluginDirectory: String, cdiDirectory: String,
                    cniStateDirectory: String? = nil) {
            self.names = names
            self.pluginsRegistryDirectory = pluginsRegistryDirectory
            self.pluginDirectory = pluginDirectory
            self.cdiDirectory = cdiDirectory
            self.cniStateDirectory = cniStateDirectory
        }

        public var checkpointPath: String { pluginDirectory + "/checkpoint.json" }
    }

    public let configuration: Configuration
    public let plugin: DRAKubeletPlugin
    let publisher: SlicePublisher
    /// Claim status on the API server; nil when a test gives no store.
    public let statusReporter: ClaimStatusReporter?
    let log: @Sendable (String) -> Void
    private let inventory: InventoryBox
    private let published = Mutex<[String: [JSON]]?>(nil)

    /// `client` takes the slices, reads claims and writes their status.
    public convenience init(configuration: Configuration, client: KubeClient, log: @escaping @Sendable (String) -> Void,
                pfSettings: any PFSettingsApplier = NetlinkPFSettings()) throws(DRAError) {
        try self.init(configuration: configuration, reader: KubeClaimReader(client: client), store: client,
                      statusStore: client, log: log, pfSettings: pfSettings)
    }

    public init(configuration: Configuration, reader: any ClaimReader, store: any SliceStore, statusStore: (any ClaimStatusStore)?,
                log: @escaping @Sendable (String) -> Void, pfSettings: any PFSettingsApplier = NetlinkPFSettings()) throws(DRAError) {
        self.configuration = configuration
        self.log = log
        let preparer = try ClaimPreparer(names: configuration.names, checkpointPath: configuration.checkpointPath,
                                         cdiDirectory: configuration.cdiDirectory, reader: reader, pfSettings: pfSettings)
        let inventory = InventoryBox()
        self.inventory = inventory
        let publisher = SlicePublisher(names: configuration.names, store: store, log: log)
        self.publisher = publisher
        let reporter = statusStore.map {
            ClaimStatusReporter(names: configuration.names, store: $0, claims: { preparer.prepared },
                                cniStateDirectory: configuration.cniStateDirectory, log: log)
        }
        statusReporter = reporter
        plugin = DRAKubeletPlugin(preparer: preparer, pluginsRegistryDirectory: configuration.pluginsRegistryDirectory,
                                  pluginDirectory: configuration.pluginDirectory,
                                  inventory: { inventory.current.withLock { $0 } },
                                  // Status is written after kubelet has its answer: a slow API
                                  // server must not hold up the pod.
                                  claimsChanged: { reporter?.claimsChanged() },
                                  // kubelet deletes every slice of its node when it starts, before plugins register again.
                                  onRegistered: { publisher.resync() })
    }

    /// Serves kubelet and starts publishing; `update` then gives the pools.
    public func start() throws {
        try publisher.start()
        try statusReporter?.start()
        try plugin.start()
        log("DRA driver \(configuration.names.driver) serving \(plugin.endpoint), registration \(plugin.registrationSocket)")
    }

    /// Stops serving kubelet and publishing (a request under way is the last). The
    /// slices stay (the Node owns them and a restarted daemon adopts them) unless
    /// `deleteSlices`.
    public func stop(deleteSlices: Bool = false) {
        plugin.stop()
        statusReporter?.stop()
        publisher.stop(deleteSlices: deleteSlices)
    }

    /// The pools served through DRA now, from a good rescan: health goes to kubelet's
    /// watchers when it changed, devices to the API server when they changed.
    public func update(pools: [ResourcePool], snapshot: HostSnapshot, health: [String: DeviceHealthState]) {
        let healthChanged = inventory.current.withLock { current in
            defer { current = DRAKubeletPlugin.Inventory(pools: pools, snapshot: snapshot, health: health) }
            return current.health != health || current.pools.map(\.devices) != pools.map(\.devices)
        }
        if healthChanged { plugin.healthChanged() }
        let devices = ResourceSlices(names: configuration.names).devices(pools: pools, snapshot: snapshot)
        let changed = published.withLock { last in
            defer { last = devices }
            return last != devices
        }
        if changed { publisher.publish(devices) }
    }

    /// Waits until the last `update`'s slices are on the API server (tests, benchmarks).
    public func waitUntilPublished(timeout: Duration) -> Bool { publisher.waitUntilPublished(timeout: timeout) }

    public var sliceOutcome: SlicePublisher.Outcome? { publisher.lastOutcome }

    /// kubelet's verdict on the registration (registered, or its error): nil before it has answered.
    public var registration: RegistrationStatus? { plugin.registration.withLock { $0 } }
}

/// What the kubelet plugin serves from: the last rescan's DRA pools.
final class InventoryBox: Sendable {
    let current = Mutex(DRAKubeletPlugin.Inventory(pools: [], snapshot: HostSnapshot.empty()))
}

/// `2026-12-05T18:30:00Z`.
func rfc3339(_ seconds: time_t) -> String {
    var value = seconds
    var parts = tm()
    gmtime_r(&value, &parts)
    func two(_ number: Int32) -> String { number < 10 ? "0\(number)" : "\(number)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
}
