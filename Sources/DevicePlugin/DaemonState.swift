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
    var registering: Set<String> = []
    var lastAttempt: [String: ContinuousClock.Instant] = [:]
    var socketCounter = 0
    var lastCDISpecs: [String: String] = [:]
    /// devlink, read only for `ddpProfiles` selectors and at most every 30 s.
    let firmware: CachedFirmwareQuery?

    init(configuration: DaemonConfiguration, logger: Logger, sink: AsyncStream<Daemon.Event>.Continuation) throws {
        self.configuration = configuration
        self.logger = logger
        self.sink = sink
        firmware = configuration.firmwareQuery.map { CachedFirmwareQuery(source: $0, logger: logger) }
        config = try Self.loadConfig(configuration)
    }

    static func loadConfig(_ configuration: DaemonConfiguration) throws -> PoolsConfig {
        guard let data = FileSystem.contents(of: configuration.configPath) else {
            throw DaemonError("cannot read the config file \(configuration.configPath)")
        }
        do {
            let config = try PoolsConfig.parse(data, defaultPrefix: configuration.resourcePrefix)
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
        let assignment = PoolAssignment(config: config, snapshot: snapshot, explained: false)
        let wanted = Set(assignment.pools.map(\.qualifiedName))
        for name in servers.keys.sorted() where !wanted.contains(name) {
            logger.info("\(name): removed from the config, stopping")
            stopServer(name, removeFiles: true)
        }
        for pool in assignment.pools {
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
        }
        retryRegistrations()
    }

    /// devlink is read (one netlink dump) only when a pool compares DDP profiles.
    private func scan() -> HostSnapshot {
        HostSnapshot.scan(roots: configuration.roots, firmware: config.readsDevlink ? firmware : nil, detail: .forPools)
    }

    mutating func reloadConfig() {
        do {
            config = try Self.loadConfig(configuration)
            firmware?.refresh()
            logger.info("config reloaded: \(config.pools.map(\.qualifiedName).joined(separator: ", "))")
        } catch {
            logger.error("config reload failed, keeping the previous config: \(error)")
        }
    }

    // MARK: Servers and registration

    private mutating func startServer(_ pool: ResourcePool, snapshot: HostSnapshot, health: [String: DeviceHealthState]) {
        socketCounter += 1
        let base = "sriov-rdma-\(pool.config.resourcePrefix)_\(pool.config.resourceName)-\(Int(wallClockSeconds()))\(socketCounter).sock"
        let path = configuration.kubeletDirectory + "/" + base
        do {
            let server = try PoolServer(pool: pool, snapshot: snapshot, health: health, socketPath: path,
                                        options: AllocationOptions(useCDI: configuration.useCDI, deviceInfoDirectory: configuration.deviceInfoDirectory),
                                        logger: logger)
            servers[pool.qualifiedName] = server
            logger.info("\(pool.qualifiedName): serving \(pool.devices.count) devices on \(path)")
            register(pool.qualifiedName)
        } catch {
            logger.error("\(pool.qualifiedName): cannot serve on \(path): \(error)")
        }
    }

    private mutating func stopServer(_ name: String, removeFiles: Bool) {
        guard let server = servers.removeValue(forKey: name) else { return }
        server.stop()
        if removeFiles {
            DeviceInfoStore.removeAll(of: server.pool, directory: configuration.deviceInfoDirectory)
            FileSystem.remove(cdiSpecPath(server.pool))
        }
        registering.remove(name)
    }

    /// A new server on a new socket, then Register: what kubelet needs after it
    /// restarted or dropped our stream (it never re-dials an old endpoint).
    private mutating func restart(_ name: String, reason: String) {
        guard let old = servers[name] else { return }
        logger.info("\(name): \(reason); restarting on a new socket and registering again")
        let snapshot = scan()
        let pool = PoolAssignment(config: config, snapshot: snapshot, explained: false).pools.first { $0.qualifiedName == name } ?? old.pool
        servers.removeValue(forKey: name)
        registering.remove(name)
        startServer(pool, snapshot: snapshot, health: pool.health(in: snapshot))
        old.stop()
    }

    private mutating func register(_ name: String) {
        guard let server = servers[name], !registering.contains(name) else { return }
        guard FileSystem.exists(configuration.kubeletSocket) else {
            logger.debug("\(name): \(configuration.kubeletSocket) is absent; registering when it appears")
            return
        }
        registering.insert(name)
        lastAttempt[name] = .now
        let request = RegisterRequest(version: devicePluginAPIVersion, endpoint: server.socketPath.lastPathComponent,
                                      resourceName: name, options: DevicePluginOptions(preStartRequired: false, getPreferredAllocationAvailable: true))
        let socket = server.socketPath
        let kubeletSocket = configuration.kubeletSocket
        let sink = self.sink
        Task {
            do {
                // kubelet dials back within its own 10 s before answering.
                _ = try await GRPCClient.unary(socketPath: kubeletSocket, method: RegistrationService.register, request: request, timeout: .seconds(30))
                sink.yield(.registered(pool: name, socket: socket))
            } catch {
                sink.yield(.registrationFailed(pool: name, socket: socket, reason: "\(error)"))
            }
        }
    }

    mutating func registered(pool name: String, socket: String) {
        registering.remove(name)
        guard let server = servers[name], server.socketPath == socket else { return }
        server.isRegistered = true
        logger.info("\(name): registered with kubelet")
    }

    mutating func registrationFailed(pool name: String, socket: String, reason: String) {
        registering.remove(name)
        guard servers[name]?.socketPath == socket else { return }
        logger.error("\(name): Register failed: \(reason)")
    }

    private mutating func retryRegistrations() {
        for (name, server) in servers where !server.isRegistered && !registering.contains(name) {
            if let last = lastAttempt[name], ContinuousClock.now - last < .seconds(5) { continue }
            register(name)
        }
    }

    /// kubelet restarted (kubelet.sock re-created) or removed one of our sockets.
    mutating func kubeletDirectoryChanged(name: String, created: Bool) {
        if name == "kubelet.sock" && created {
            for pool in servers.keys.sorted() { restart(pool, reason: "kubelet.sock was re-created (kubelet restarted)") }
            return
        }
        if !created, let pool = servers.first(where: { $0.value.socketPath.lastPathComponent == name })?.key {
            restart(pool, reason: "our socket \(name) was removed")
        }
    }

    /// kubelet's ListAndWatch on a registered pool ended (its connection dropped or
    /// it cancelled the stream). kubelet never retries it, so register anew.
    mutating func checkConnections() {
        for (name, server) in servers where server.isRegistered && server.streamEnded {
            restart(name, reason: "kubelet's ListAndWatch stream ended")
        }
    }

    mutating func shutdown() {
        for name in servers.keys.sorted() { stopServer(name, removeFiles: true) }
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

    /// The status file, read by `sriov-rdma-dp health`.
    func writeStatus() {
        let status = DaemonStatus(
            pid: Int(getpid()), updated: wallClockSeconds(),
            pools: servers.mapValues { server in
                DaemonStatus.Pool(registered: server.isRegistered, streaming: server.watcherCount > 0,
                                  socket: server.socketPath, devices: server.pool.devices.count)
            },
            configuredPools: config.pools.map(\.qualifiedName))
        let path = configuration.statusFile
        try? FileSystem.createDirectory(path.deletingLastPathComponent)
        try? FileSystem.write(status.json.serialized, to: path)
    }
}

public struct DaemonError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
