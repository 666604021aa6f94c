import DevicePluginAPI
import GRPC
import HostDevices
import Logging
import ResourcePools
import SystemSupport

/// One pool's gRPC server on its own socket: the DevicePlugin service kubelet
/// dials back to. Its device list changes as the daemon rescans; every
/// ListAndWatch stream gets the full list at once and after each change.
final class PoolServer: Sendable {
    let qualifiedName: String
    let socketPath: String
    private let server: GRPCServer
    private let state: PoolServerState
    private let logger: Logger
    /// What the service answers; tests call it without a socket.
    let handlers: DevicePluginHandlers

    init(pool: ResourcePool, snapshot: HostSnapshot, health: [String: DeviceHealthState], socketPath: String,
         options: AllocationOptions, logger: Logger, watcher: PluginWatcherRegistration? = nil,
         onStreamEnd: @escaping @Sendable () -> Void = {}) throws {
        qualifiedName = pool.qualifiedName
        self.socketPath = socketPath
        self.logger = logger
        let state = PoolServerState(.init(pool: pool, snapshot: snapshot, health: health), onStreamEnd: onStreamEnd)
        self.state = state
        handlers = DevicePluginHandlers(state: state, options: options, logger: logger)
        var configuration = GRPCServer.Configuration()
        let name = pool.qualifiedName
        configuration.log = { logger.warning("\(name): \($0)") }
        server = try GRPCServer(socketPath: socketPath, router: handlers.router(watcher: watcher), configuration: configuration)
    }

    var isRegistered: Bool {
        get { state.withLock { $0.registered } }
        set { state.withLock { $0.registered = newValue } }
    }

    /// ListAndWatch streams open now (kubelet keeps exactly one).
    var watcherCount: Int { state.withLock { $0.watchers.count } }
    /// kubelet watched this server and no longer does: its ListAndWatch ended.
    var streamEnded: Bool { state.withLock { $0.streamsOpened > 0 && $0.watchers.isEmpty } }
    /// ListAndWatch streams served so far.
    var streamsOpened: Int { state.withLock { $0.streamsOpened } }
    /// When the last ListAndWatch stream ended.
    var lastStreamEnd: ContinuousClock.Instant? { state.withLock { $0.lastStreamEnd } }
    var connectionCount: Int { server.connectionCount }
    var pool: ResourcePool { state.withLock { $0.pool } }
    var snapshot: HostSnapshot { state.withLock { $0.snapshot } }

    /// Replaces the pool's devices and health; streams get the new list if it changed.
    func update(pool: ResourcePool, snapshot: HostSnapshot, health: [String: DeviceHealthState]) {
        if let response = state.update(pool: pool, snapshot: snapshot, health: health) {
            logger.info("\(qualifiedName): \(response.devices.count) devices, \(response.devices.filter { $0.health == DeviceHealth.healthy }.count) healthy")
        }
    }

    /// Ends every ListAndWatch stream and keeps serving, so that kubelet can tear its
    /// client down and close its connection.
    func finishStreams() { state.finishStreams() }

    /// Stops serving and ends every stream; the socket file is removed.
    func stop() {
        state.finishStreams()
        server.stop()
    }
}

/// Device-info files on disk: written read-only at allocation, removed when a pool stops.
enum DeviceInfoStore {
    static func write(_ file: DeviceInfoFile) throws {
        try FileSystem.createDirectory(file.path.deletingLastPathComponent)
        try FileSystem.write(file.contents, to: file.path, mode: 0o444)
    }

    static func removeAll(of pool: ResourcePool, directory: String) {
        for device in pool.devices {
            FileSystem.remove(pool.deviceInfoPath(device.id, directory: directory))
        }
    }
}
