import DRADriver
import DevicePluginAPI
import GRPC
import HostDevices
import JSONValue
import Logging
import ResourcePools
#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// The daemon's state, touched only from its event loop.
struct DaemonState {
    let configuration: DaemonConfiguration
    let logger: Logger
    let sink: AsyncStream<Daemon.Event>.Continuation
    var config: PoolsConfig
    var servers: [String: PoolServer] = [:]
    /// Where each pool's current server stands with kubelet.
    var registrations: [String: PoolRegistration] = [:]
    /// Replaced servers kept until kubelet has let go of them.
    var retiring: [String: RetiringServer] = [:]
    /// When the next `.reconcile` wake-up comes, if one is scheduled.
    var wakeAt: ContinuousClock.Instant?
    /// The last rescan's fault, while rescans fail: logged once, cleared by a good one.
    var scanFault: ScanFault?
    var socketCounter = 0
    /// The status file could not be written (a read-only root with no volume at
    /// --state-dir, as the operators' DaemonSets have): said once, not at every event.
    var statusUnwritable = false
    var lastCDISpecs: [String: String] = [:]
    /// Each served pool's notes from the last good rescan (InfiniBand VFs with no GUID),
    /// for the status file.
    var notes: [String: [DaemonStatus.Note]] = [:]
    /// By pool, the devices whose note has been logged: once per device while it stays
    /// in the pool, not at every rescan.
    var loggedNotes: [String: Set<String>] = [:]
    /// devlink, read only for `ddpProfiles` selectors and at most every 30 s.
    let firmware: CachedFirmwareQuery?
    /// plugins_registry, when pools register through kubelet's plugin watcher.
    let pluginWatcherDirectory: String?
    /// The DRA driver, when --dra-pools names pools; started by the daemon.
    let dra: DRAService?
    /// The pools DRA served at the last good rescan (for the status file).
    var draPools: [String: Int] = [:]

    init(configuration: DaemonConfiguration, logger: Logger, sink: AsyncStream<Daemon.Event>.Continuation) throws {
        self.configuration = configuration
        self.logger = logger
        self.sink = sink
        firmware = configuration.firmwareQuery.map { CachedFirmwareQuery(source: $0, logger: logger) }
        pluginWatcherDirectory = configuration.pluginsRegistryDirectory.flatMap { FileSystem.isDirectory($0) ? $0 : nil }
        config = try Self.loadConfig(configuration)
        if let settings = configuration.dra {
            if case .named(let names) = settings.selection {
                let known = Set(config.pools.flatMap { [$0.qualifiedName, $0.resourceName] })
                for name in names.sorted() where !known.contains(name) {
                    logger.warning("--dra-pools names \(name), which \(configuration.configPath) does not configure")
                }
            }
            if let problem = Self.draProblem(config, settings: settings, previous: nil) { throw DaemonError(problem) }
            let logger = self.logger
            do {
                dra = try DRAService(configuration: settings.service, client: settings.client,
                                     log: { logger.info("\($0)") })
            } catch {
                throw DaemonError("DRA driver: \(error)")
            }
        } else {
            dra = nil
        }
        for warning in config.warnings { logger.warning("\(configuration.configPath): \(warning)") }
        if let directory = pluginWatcherDirectory {
            logger.info("registering through kubelet's plugin watcher: pool sockets go to \(directory)")
        }
    }

    static func loadConfig(_ configuration: DaemonConfiguration) throws -> PoolsConfig {
        guard let data = FileSystem.contents(of: configuration.configPath) else {
            throw DaemonError("cannot read the config file \(configuration.configPath)")
        }
        do {
            let config = try PoolsConfig.parse(data, defaultPrefix: configuration.resourcePrefix, strict: configuration.strictConfig)
            for pool in config.pools {
                if let problem = pool.resource.kubeletProblem {
                    throw DaemonError("\(configuration.configPath): resource \(pool.qualifiedName): kubelet would refuse it: \(problem)")
                }
            }
            return config
        } catch let error as DaemonError {
            throw error
        } catch {
            throw DaemonError("\(configuration.configPath): \(error)")
        }
    }

    // MARK: Rescans

    /// Reads the node, rebuilds the pools, and brings servers in line: new pools
    /// start and register, removed pools stop, changed lists and health are streamed.
    mutating func rescan() {
        // sysfs only, with no portQuery: a rescan runs at every poll tick and kernel event, and opening every
        // RDMA device through libibverbs costs far more than reading its port's state file. Netdevs only as
        // far as pools and health read them.
        let snapshot = scan()
        if let fault = snapshot.fault {
            // Not the node: keep serving the last good lists, and try again at the next tick.
            if scanFault == nil { logger.warning("rescan failed, keeping the last device lists: \(fault)") }
            scanFault = fault
            reconcile()
            return
        }
        if let fault = scanFault {
            logger.info("rescan works again (it had failed: \(fault))")
            scanFault = nil
        }
        let assignment = PoolAssignment(config: config, snapshot: snapshot, explained: false)
        // One node never serves a resource name both ways: a pool DRA serves has no device-plugin server.
        let throughDRA = assignment.pools.filter(servedThroughDRA)
        let wanted = Set(assignment.pools.filter { !servedThroughDRA($0) }.map(\.qualifiedName))
        for name in servers.keys.sorted() where !wanted.contains(name) {
            logger.info("\(name): removed from the config, stopping")
            stopServer(name, removeFiles: true)
        }
        let served = Set(assignment.pools.map(\.qualifiedName))
        for name in Set(notes.keys).union(loggedNotes.keys) where !served.contains(name) {
            notes[name] = nil
            loggedNotes[name] = nil
        }
        if let dra {
            dra.update(pools: throughDRA, snapshot: snapshot,
                       health: throughDRA.reduce(into: [:]) { $0.merge($1.health(in: snapshot)) { first, _ in first } })
            draPools = Dictionary(throughDRA.map { ($0.qualifiedName, $0.devices.count) }, uniquingKeysWith: +)
            // No pool-level CDI spec: Prepare writes one per claim.
            for pool in throughDRA { recordNotes(pool, snapshot: snapshot) }
        }
        for pool in assignment.pools where !servedThroughDRA(pool) {
            let health = pool.health(in: snapshot)
            for (id, state) in health.sorted(by: { $0.key < $1.key }) where !state.healthy {
                if let previous = servers[pool.qualifiedName]?.pool, previous.device(id) != nil {
                    logger.debug("\(pool.qualifiedName): \(id) unhealthy: \(state.reason ?? "")")
                }
            }
            if let server = servers[pool.qualifiedName] {
                server.update(pool: pool, snapshot: snapshot, health: health)
            } else {
                startServer(pool, snapshot: snapshot, health: health)
            }
            if configuration.useCDI { writeCDISpec(pool, snapshot: snapshot) }
            recordNotes(pool, snapshot: snapshot)
        }
        reconcile()
    }

    /// The pool's notes for the status file, each device's logged the first time it
    /// has one. Reporting only: with ib-kubernetes a VF's GUID is zero until the CNI
    /// sets it, so its health toward kubelet is not touched.
    private mutating func recordNotes(_ pool: ResourcePool, snapshot: HostSnapshot) {
        let found = MissingGUID.notes(of: pool, in: snapshot)
        notes[pool.qualifiedName] = found.isEmpty ? nil : found
        var logged = loggedNotes[pool.qualifiedName, default: []].intersection(pool.devices.map(\.id))
        for note in found where logged.insert(note.device).inserted {
            logger.notice("\(pool.qualifiedName): \(note.device): \(note.reason); \(MissingGUID.remedy)")
        }
        loggedNotes[pool.qualifiedName] = logged.isEmpty ? nil : logged
    }

    /// Why `config` cannot be served with these DRA settings: a named pool that is a
    /// shared RDMA pool, two pools with one DRA pool name (or one too long for the API),
    /// or — on a reload — a pool that would move between DRA and the device plugin
    /// (its VFs may be prepared for claims or held by pods: that takes a restart, after
    /// draining the node).
    static func draProblem(_ config: PoolsConfig, settings: DRASettings, previous: PoolsConfig?) -> String? {
        func throughDRA(_ pool: PoolConfig) -> Bool {
            pool.deviceType != .rdmaShared && settings.selection.contains(qualifiedName: pool.qualifiedName, resourceName: pool.resourceName)
        }
        if case .named = settings.selection {
            let shared = config.pools.filter {
                $0.deviceType == .rdmaShared && settings.selection.contains(qualifiedName: $0.qualifiedName, resourceName: $0.resourceName)
            }
            if !shared.isEmpty {
                return "--dra-pools: \(shared.map(\.qualifiedName).joined(separator: ", ")) is a shared RDMA pool (rdmaShared), "
                    + "which is served through the device plugin only: DRA has no device that many pods share without allocating it"
            }
        }
        var seen: [String: String] = [:]
        for pool in config.pools where throughDRA(pool) {
            let name = settings.service.names.pool(pool)
            if let other = seen[name] {
                return "DRA: \(other) and \(pool.qualifiedName) would both be published as DRA pool \(name); rename one"
            }
            if name.utf8.count > 253 {
                return "DRA: pool name \(name) of \(pool.qualifiedName) is longer than the API's 253 characters"
            }
            seen[name] = pool.qualifiedName
        }
        if let previous {
            let before = Dictionary(previous.pools.map { ($0.qualifiedName, throughDRA($0)) }, uniquingKeysWith: { first, _ in first })
            for pool in config.pools {
                if let was = before[pool.qualifiedName], was != throughDRA(pool) {
                    return "\(pool.qualifiedName) would move from \(was ? "DRA to the device plugin" : "the device plugin to DRA"); "
                        + "drain the node and restart the daemon to change how a pool is served"
                }
            }
        }
        return nil
    }

    /// Whether `pool` goes through the DRA driver (--dra-pools) rather than a device-plugin server.
    func servedThroughDRA(_ pool: ResourcePool) -> Bool {
        guard let settings = configuration.dra, pool.config.deviceType != .rdmaShared else { return false }
        return settings.selection.contains(qualifiedName: pool.qualifiedName, resourceName: pool.config.resourceName)
    }

    /// devlink is read (one netlink dump) only when a pool compares DDP profiles.
    private func scan() -> HostSnapshot {
        HostSnapshot.scan(roots: configuration.roots, firmware: config.readsDevlink ? firmware : nil, detail: .forPools)
    }

    mutating func reloadConfig() {
        do {
            let loaded = try Self.loadConfig(configuration)
            if let settings = configuration.dra, let problem = Self.draProblem(loaded, settings: settings, previous: config) {
                throw DaemonError(problem)
            }
            config = loaded
            for warning in config.warnings { logger.warning("\(configuration.configPath): \(warning)") }
            firmware?.refresh()
            logger.info("config reloaded: \(config.pools.map(\.qualifiedName).joined(separator: ", "))")
        } catch {
            logger.error("config reload failed, keeping the previous config: \(error)")
        }
    }

    // MARK: Servers and registration

    /// A server for `pool` on a new socket (kubelet never re-dials an old endpoint),
    /// registered by `reconcile`.
    @discardableResult
    mutating func startServer(_ pool: ResourcePool, snapshot: HostSnapshot, health: [String: DeviceHealthState]) -> PoolServer? {
        socketCounter += 1
        let base = "sriov-rdma-\(pool.config.resourcePrefix)_\(pool.config.resourceName)-\(Int(wallClockSeconds()))\(socketCounter).sock"
        let path = (pluginWatcherDirectory ?? configuration.kubeletDirectory) + "/" + base
        let sink = self.sink
        let name = pool.qualifiedName
        let watcher = pluginWatcherDirectory.map { _ in
            PluginWatcherRegistration(resourceName: name) { status in
                sink.yield(.watcherVerdict(pool: name, socket: path, registered: status.pluginRegistered, error: status.error))
            }
        }
        do {
            let server = try PoolServer(pool: pool, snapshot: snapshot, health: health, socketPath: path,
                                        options: AllocationOptions(useCDI: configuration.useCDI, deviceInfoDirectory: configuration.deviceInfoDirectory),
                                        logger: logger, watcher: watcher, onStreamEnd: { sink.yield(.streamEnded) })
            servers[pool.qualifiedName] = server
            registrations[pool.qualifiedName] = PoolRegistration(socket: path)
            logger.info("\(pool.qualifiedName): serving \(pool.devices.count) devices on \(path)")
            return server
        } catch {
            logger.error("\(pool.qualifiedName): cannot serve on \(path): \(error)")
            return nil
        }
    }

    private mutating func stopServer(_ name: String, removeFiles: Bool) {
        guard let server = servers.removeValue(forKey: name) else { return }
        server.stop()
        retiring.removeValue(forKey: name)?.server.stop()
        registrations[name] = nil
        if removeFiles {
            DeviceInfoStore.removeAll(of: server.pool, directory: configuration.deviceInfoDirectory)
            FileSystem.remove(cdiSpecPath(server.pool))
        }
    }

    /// The pool as the node shows it now, for a server that replaces another.
    /// A scan that fails gives the server's own last pool and snapshot.
    mutating func currentPool(_ name: String) -> (ResourcePool, HostSnapshot)? {
        let snapshot = scan()
        guard snapshot.fault == nil else { return servers[name].map { ($0.pool, $0.snapshot) } }
        guard let pool = PoolAssignment(config: config, snapshot: snapshot, explained: false).pools.first(where: { $0.qualifiedName == name })
            ?? servers[name]?.pool else { return nil }
        return (pool, snapshot)
    }

    mutating func shutdown() {
        for name in servers.keys.sorted() { stopServer(name, removeFiles: true) }
        dra?.stop()
        for retired in retiring.values { retired.server.stop() }
        retiring.removeAll()
        FileSystem.remove(configuration.statusFile)
        logger.info("stopped")
    }

    // MARK: CDI and status

    private func cdiSpecPath(_ pool: ResourcePool) -> String {
        configuration.cdiDirectory + "/" + pool.cdiSpecFileName
    }

    private mutating func writeCDISpec(_ pool: ResourcePool, snapshot: HostSnapshot) {
        let spec = pool.cdiSpec(snapshot: snapshot)
        let text = spec.serialized
        let path = cdiSpecPath(pool)
        guard lastCDISpecs[path] != text else { return }
        do {
            try FileSystem.createDirectory(configuration.cdiDirectory)
            try FileSystem.write(text, to: path)
            lastCDISpecs[path] = text
        } catch {
            logger.debug("\(pool.qualifiedName): CDI spec not written: \(error)")
        }
    }

    /// DRA pools in the status file: registered when kubelet accepted the DRA plugin;
    /// streaming always (kubelet's health watch is optional in DRA). A slice
    /// publication that fails is a note, not a probe failure: restarting the daemon
    /// cannot bring the API server back, and would take the plugin from kubelet.
    private var draStatus: [String: DaemonStatus.Pool] {
        guard let dra else { return [:] }
        let registration = dra.registration
        var waiting: String?
        if registration?.pluginRegistered != true {
            let refused = registration.map { $0.error.isEmpty ? "" : " (kubelet said: \($0.error))" } ?? ""
            waiting = "kubelet to register DRA driver \(dra.configuration.names.driver)" + refused
        }
        var sliceNotes: [DaemonStatus.Note] = []
        if case .failed(let why)? = dra.sliceOutcome {
            sliceNotes.append(DaemonStatus.Note(device: "ResourceSlices", reason: "not published: \(why)"))
        }
        return Dictionary(uniqueKeysWithValues: draPools.map { name, count in
            (name, DaemonStatus.Pool(registered: registration?.pluginRegistered == true, streaming: true, socket: dra.plugin.endpoint,
                                     devices: count, waitingFor: waiting, notes: sliceNotes + (notes[name] ?? [])))
        })
    }

    /// The status file, read by `sriov-rdma-dp health`.
    mutating func writeStatus() {
        let status = DaemonStatus(
            pid: Int(getpid()), updated: wallClockSeconds(),
            pools: Dictionary(uniqueKeysWithValues: servers.map { name, server in
                let waiting = waiting(name)
                return (name, DaemonStatus.Pool(registered: server.isRegistered, streaming: server.watcherCount > 0,
                                                 socket: server.socketPath, devices: server.pool.devices.count,
                                                 waitingFor: waiting?.what, waitingSince: waiting?.since,
                                                 notes: notes[name] ?? []))
            }).merging(draStatus) { first, _ in first },
            configuredPools: config.pools.map(\.qualifiedName))
        let path = configuration.statusFile
        do {
            try FileSystem.createDirectory(path.deletingLastPathComponent)
            try FileSystem.write(status.json.serialized, to: path)
            statusUnwritable = false
        } catch {
            guard !statusUnwritable else { return }
            statusUnwritable = true
            logger.notice("status not written to \(path) (\(error)): `sriov-rdma-dp health` needs --state-dir on a writable volume; serving is not affected")
        }
    }
}

public struct DaemonError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
