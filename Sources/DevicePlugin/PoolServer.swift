import DevicePluginAPI
import GRPC
import HostDevices
import Logging
import ResourcePools
import Synchronization

/// One pool's gRPC server on its own socket: the DevicePlugin service kubelet
/// dials back to. Its device list changes as the daemon rescans; every
/// ListAndWatch stream gets the full list at once and after each change.
final class PoolServer: Sendable {
    let qualifiedName: String
    let socketPath: String
    private let server: GRPCServer
    private let state: LockedState
    private let logger: Logger
    private let options: AllocationOptions

    struct State {
        var pool: ResourcePool
        var snapshot: HostSnapshot
        var health: [String: DeviceHealthState]
        var watchers: [Int: AsyncStream<ListAndWatchResponse>.Continuation] = [:]
        var nextWatcher = 0
        var registered = false
        /// ListAndWatch streams served so far (to tell "ended" from "not yet").
        var streamsOpened = 0
    }

    init(pool: ResourcePool, snapshot: HostSnapshot, health: [String: DeviceHealthState], socketPath: String,
         options: AllocationOptions, logger: Logger) throws {
        qualifiedName = pool.qualifiedName
        self.socketPath = socketPath
        self.logger = logger
        self.options = options
        let state = LockedState(State(pool: pool, snapshot: snapshot, health: health))
        self.state = state
        server = try GRPCServer(socketPath: socketPath, router: Self.router(state: state, options: options, logger: logger))
    }

    var isRegistered: Bool {
        get { state.withLock { $0.registered } }
        set { state.withLock { $0.registered = newValue } }
    }

    /// ListAndWatch streams open now (kubelet keeps exactly one).
    var watcherCount: Int { state.withLock { $0.watchers.count } }
    /// kubelet watched this server and no longer does: its ListAndWatch ended.
    var streamEnded: Bool { state.withLock { $0.streamsOpened > 0 && $0.watchers.isEmpty } }
    var connectionCount: Int { server.connectionCount }
    var pool: ResourcePool { state.withLock { $0.pool } }

    /// Replaces the pool's devices and health; streams get the new list if it changed.
    func update(pool: ResourcePool, snapshot: HostSnapshot, health: [String: DeviceHealthState]) {
        let (changed, response, watchers) = state.withLock { state in
            let before = Self.response(state)
            state.pool = pool
            state.snapshot = snapshot
            state.health = health
            let after = Self.response(state)
            return (before != after, after, Array(state.watchers.values))
        }
        if changed {
            logger.info("\(qualifiedName): \(response.devices.count) devices, \(response.devices.filter { $0.health == DeviceHealth.healthy }.count) healthy")
            for watcher in watchers { watcher.yield(response) }
        }
    }

    /// Stops serving and ends every stream; the socket file is removed.
    func stop() {
        let watchers = state.withLock { state -> [AsyncStream<ListAndWatchResponse>.Continuation] in
            defer { state.watchers.removeAll() }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.finish() }
        server.stop()
    }

    private static func response(_ state: State) -> ListAndWatchResponse {
        ListAndWatchResponse(devices: state.pool.devices.map { device in
            Device(id: device.id,
                   health: state.health[device.id]?.healthy == false ? DeviceHealth.unhealthy : DeviceHealth.healthy,
                   topology: device.numaNode.map { TopologyInfo(nodes: [NUMANode(id: Int64($0))]) })
        })
    }

    private static func router(state: LockedState, options: AllocationOptions, logger: Logger) -> GRPCRouter {
        var router = GRPCRouter()
        router.register(DevicePluginService.getDevicePluginOptions) { _, _ in
            DevicePluginOptions(preStartRequired: false, getPreferredAllocationAvailable: true)
        }
        router.registerStreaming(DevicePluginService.listAndWatch) { _, stream, _ in
            let (updates, continuation) = AsyncStream.makeStream(of: ListAndWatchResponse.self, bufferingPolicy: .bufferingNewest(1))
            let (id, first) = state.withLock { state in
                let id = state.nextWatcher
                state.nextWatcher += 1
                state.streamsOpened += 1
                state.watchers[id] = continuation
                return (id, Self.response(state))
            }
            logger.debug("ListAndWatch stream \(id) opened")
            defer {
                state.withLock { _ = $0.watchers.removeValue(forKey: id) }
                logger.debug("ListAndWatch stream \(id) ended")
            }
            let size = first.serializedBytes().count
            if size > GRPCMessageFraming.defaultMaxMessageSize {
                logger.error("ListAndWatch message of \(size) bytes exceeds kubelet's 4 MiB limit")
            }
            try await stream.send(first)
            for await update in updates { try await stream.send(update) }
        }
        router.register(DevicePluginService.getPreferredAllocation) { request, _ in
            let pool = state.withLock { $0.pool }
            return PreferredAllocationResponse(containerResponses: request.containerRequests.map { container in
                ContainerPreferredAllocationResponse(deviceIDs: pool.preferredAllocation(
                    available: container.availableDeviceIDs, mustInclude: container.mustIncludeDeviceIDs, size: Int(container.allocationSize)))
            })
        }
        router.register(DevicePluginService.allocate) { request, _ in
            let (pool, snapshot, health) = state.withLock { ($0.pool, $0.snapshot, $0.health) }
            var responses: [ContainerAllocateResponse] = []
            for container in request.containerRequests {
                for id in container.devicesIDs {
                    guard pool.device(id) != nil else {
                        throw GRPCStatus(.invalidArgument, "device \"\(id)\" is not in pool \(pool.qualifiedName)")
                    }
                    if let problem = health[id], !problem.healthy {
                        throw GRPCStatus(.failedPrecondition, "device \"\(id)\" of \(pool.qualifiedName) is unhealthy: \(problem.reason ?? "")")
                    }
                }
                let allocation: ContainerAllocation
                do {
                    allocation = try pool.allocation(ids: container.devicesIDs, snapshot: snapshot, options: options)
                } catch {
                    throw GRPCStatus(.invalidArgument, "\(error)")
                }
                for file in allocation.deviceInfoFiles {
                    do {
                        try DeviceInfoStore.write(file)
                    } catch {
                        throw GRPCStatus(.internalError, "writing \(file.path): \(error)")
                    }
                }
                logger.info("\(pool.qualifiedName): allocated \(container.devicesIDs.joined(separator: ","))")
                responses.append(ContainerAllocateResponse(
                    envs: allocation.envs, mounts: [],
                    devices: allocation.devices.map { DeviceSpec(containerPath: $0.containerPath, hostPath: $0.hostPath, permissions: $0.permissions) },
                    annotations: allocation.annotations, cdiDevices: allocation.cdiDevices.map { CDIDevice(name: $0) }))
            }
            return AllocateResponse(containerResponses: responses)
        }
        router.register(DevicePluginService.preStartContainer) { _, _ in PreStartContainerResponse() }
        return router
    }
}

/// The server's state behind a lock, shared by reference with its handlers.
final class LockedState: Sendable {
    private let mutex: Mutex<PoolServer.State>
    init(_ state: PoolServer.State) { mutex = Mutex(state) }
    func withLock<T>(_ body: (inout PoolServer.State) -> T) -> T { mutex.withLock { body(&$0) } }
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
