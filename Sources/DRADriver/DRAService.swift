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

        public init(names: DRANames, pluginsRegistryDirectory: String, pluginDirectory: String, cdiDirectory: String) {
            self.names = names
            self.pluginsRegistryDirectory = pluginsRegistryDirectory
            self.pluginDirectory = pluginDirectory
            self.cdiDirectory = cdiDirectory
        }

        public var checkpointPath: String { pluginDirectory + "/checkpoint.json" }
    }

    public let configuration: Configuration
    public let plugin: DRAKubeletPlugin
    let publisher: SlicePublisher
    let statusWriter: ClaimStatusWriter?
    let log: @Sendable (String) -> Void
    private let inventory: InventoryBox
    private let published = Mutex<[String: [JSON]]?>(nil)

    /// `store` takes the slices and `client` reads claims and writes their status (the
    /// same `KubeClient` in the daemon; tests may give a recorder and a table).
    public convenience init(configuration: Configuration, client: KubeClient, log: @escaping @Sendable (String) -> Void,
                pfSettings: any PFSettingsApplier = NetlinkPFSettings()) throws(DRAError) {
        try self.init(configuration: configuration, reader: KubeClaimReader(client: client), store: client,
                      statusWriter: ClaimStatusWriter(client: client, names: configuration.names), log: log, pfSettings: pfSettings)
    }

    public init(configuration: Configuration, reader: any ClaimReader, store: any SliceStore, statusWriter: ClaimStatusWriter?,
                log: @escaping @Sendable (String) -> Void, pfSettings: any PFSettingsApplier = NetlinkPFSettings()) throws(DRAError) {
        self.configuration = configuration
        self.log = log
        self.statusWriter = statusWriter
        let preparer = try ClaimPreparer(names: configuration.names, checkpointPath: configuration.checkpointPath,
                                         cdiDirectory: configuration.cdiDirectory, reader: reader, pfSettings: pfSettings)
        let inventory = InventoryBox()
        self.inventory = inventory
        let publisher = SlicePublisher(names: configuration.names, store: store, log: log)
        self.publisher = publisher
        let writer = statusWriter
        let names = configuration.names
        plugin = DRAKubeletPlugin(preparer: preparer, pluginsRegistryDirectory: configuration.pluginsRegistryDirectory,
                                  pluginDirectory: configuration.pluginDirectory,
                                  inventory: { inventory.current.withLock { $0 } },
                                  afterPrepare: { claims in
                                      guard let writer, !claims.isEmpty else { return }
                                      Self.writeStatus(claims, writer: writer, names: names, inventory: inventory, log: log)
                                  },
                                  // kubelet deletes every slice of its node when it starts, before plugins register again.
                                  onRegistered: { publisher.resync() })
    }

    /// Serves kubelet and starts publishing; `update` then gives the pools.
    public func start() throws {
        try publisher.start()
        try plugin.start()
        log("DRA driver \(configuration.names.driver) serving \(plugin.endpoint), registration \(plugin.registrationSocket)")
    }

    /// Stops serving kubelet and publishing (a request under way is the last). The
    /// slices stay (the Node owns them and a restarted daemon adopts them) unless
    /// `deleteSlices`.
    public func stop(deleteSlices: Bool = false) {
        plugin.stop()
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

    /// Claim status is written after Prepare has answered, off kubelet's call: a slow API
    /// server must not hold up the pod, and a claim whose status cannot be written is
    /// still prepared (the status is for people and for Multus, not for kubelet).
    static func writeStatus(_ claims: [ClaimCheckpoint.PreparedClaim], writer: ClaimStatusWriter, names: DRANames,
                            inventory: InventoryBox, log: @escaping @Sendable (String) -> Void) {
        let now = inventory.current.withLock { $0 }
        let builder = ResourceSlices(names: names)
        var attributes: [String: JSON] = [:]
        for pool in now.pools {
            for device in pool.devices {
                attributes[DRANames.device(device.id)] = builder.device(pool: pool, device: device, snapshot: now.snapshot)["attributes"]
            }
        }
        let stamp = rfc3339(time(nil))
        let ownAttributes = attributes
        do {
            try OSThread.start(name: "dra-status", detached: true) {
                for claim in claims {
                    do throws(KubeAPIError) {
                        try writer.write(claim, attributes: ownAttributes, now: stamp)
                    } catch {
                        log("claim \(claim.namespace)/\(claim.name): status.devices not written: \(error)")
                    }
                }
            }
        } catch {
            log("claim status not written: \(error)")
        }
    }
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
