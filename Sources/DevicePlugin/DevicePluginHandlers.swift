import DevicePluginAPI
import GRPC
import HostDevices
import Logging
import ResourcePools
import Synchronization

/// What one pool's DevicePlugin service answers, apart from sockets: `PoolServer`
/// registers these on its router, and tests call them directly. The answers
/// themselves come from `ResourcePools`; here they become protobuf messages, gRPC
/// statuses and device-info files on disk.
struct DevicePluginHandlers: Sendable {
    let state: PoolServerState
    let options: AllocationOptions
    let logger: Logger

    static let pluginOptions = DevicePluginOptions(preStartRequired: false, getPreferredAllocationAvailable: true)

    /// One response per container: its devices checked for membership and health,
    /// their device-info files written before kubelet hands the IDs to Multus.
    func allocate(_ request: AllocateRequest) throws(GRPCStatus) -> AllocateResponse {
        let (pool, snapshot, health) = state.withLock { ($0.pool, $0.snapshot, $0.health) }
        var responses: [ContainerAllocateResponse] = []
        for container in request.containerRequests {
            let allocation: ContainerAllocation
            do throws(AllocationError) {
                allocation = try pool.allocation(ids: container.devicesIDs, snapshot: snapshot, health: health, options: options)
            } catch {
                switch error {
                case .unknownDevice: throw GRPCStatus(.invalidArgument, "\(error)")
                case .unhealthyDevice: throw GRPCStatus(.failedPrecondition, "\(error)")
                }
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

    func preferredAllocation(_ request: PreferredAllocationRequest) -> PreferredAllocationResponse {
        let pool = state.withLock { $0.pool }
        return PreferredAllocationResponse(containerResponses: request.containerRequests.map { container in
            ContainerPreferredAllocationResponse(deviceIDs: pool.preferredAllocation(
                available: container.availableDeviceIDs, mustInclude: container.mustIncludeDeviceIDs, size: Int(container.allocationSize)))
        })
    }

    /// The whole device list at once, then again after each change, until `send`
    /// fails (kubelet went away) or the server stops the stream.
    func listAndWatch(send: (ListAndWatchResponse) async throws -> Void) async throws {
        let (updates, continuation) = AsyncStream.makeStream(of: ListAndWatchResponse.self, bufferingPolicy: .bufferingNewest(1))
        let (id, first) = state.withLock { state in
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.streamsOpened += 1
            state.watchers[id] = continuation
            return (id, state.listAndWatchResponse)
        }
        logger.debug("ListAndWatch stream \(id) opened")
        defer {
            state.withLock {
                _ = $0.watchers.removeValue(forKey: id)
                $0.lastStreamEnd = .now
            }
            logger.debug("ListAndWatch stream \(id) ended")
            state.onStreamEnd()
        }
        let size = first.serializedBytes().count
        if size > GRPCMessageFraming.defaultMaxMessageSize {
            logger.error("ListAndWatch message of \(size) bytes exceeds kubelet's 4 MiB limit")
        }
        try await send(first)
        for await update in updates { try await send(update) }
    }

    /// Every method of the DevicePlugin service, on a router for `GRPCServer`; with
    /// `watcher`, also the plugin watcher's Registration service, for a socket in
    /// plugins_registry.
    func router(watcher: PluginWatcherRegistration? = nil) -> GRPCRouter {
        var router = GRPCRouter()
        if let watcher {
            router.register(PluginRegistrationService.getInfo) { _, _ in watcher.info }
            router.register(PluginRegistrationService.notifyRegistrationStatus) { status, _ in
                watcher.verdict(status)
                return RegistrationStatusResponse()
            }
        }
        router.register(DevicePluginService.getDevicePluginOptions) { _, _ in Self.pluginOptions }
        // Each message is the whole device list: one kubelet has not read yet is
        // worthless once a newer one exists.
        router.registerStreaming(DevicePluginService.listAndWatch, coalescing: .latestOnly) { _, stream, _ in
            try await listAndWatch { try await stream.send($0) }
        }
        router.register(DevicePluginService.getPreferredAllocation) { request, _ in preferredAllocation(request) }
        router.register(DevicePluginService.allocate) { request, _ in try allocate(request) }
        router.register(DevicePluginService.preStartContainer) { _, _ in PreStartContainerResponse() }
        return router
    }
}

/// What a pool's socket in plugins_registry tells kubelet's plugin watcher, and where
/// kubelet's verdict goes.
struct PluginWatcherRegistration: Sendable {
    let info: PluginInfo
    let verdict: @Sendable (RegistrationStatus) -> Void

    init(resourceName: String, verdict: @escaping @Sendable (RegistrationStatus) -> Void) {
        var info = PluginInfo()
        info.type = "DevicePlugin"
        info.name = resourceName
        info.supportedVersions = [devicePluginAPIVersion]
        self.info = info
        self.verdict = verdict
    }
}

/// One pool server's state behind a lock, shared by reference with its handlers.
final class PoolServerState: Sendable {
    struct Contents {
        var pool: ResourcePool
        var snapshot: HostSnapshot
        var health: [String: DeviceHealthState]
        var watchers: [Int: AsyncStream<ListAndWatchResponse>.Continuation] = [:]
        var nextWatcher = 0
        var registered = false
        /// ListAndWatch streams served so far (to tell "ended" from "not yet").
        var streamsOpened = 0
        /// When the last ListAndWatch stream ended.
        var lastStreamEnd: ContinuousClock.Instant?

        /// The device list kubelet sees: health and NUMA node per device.
        var listAndWatchResponse: ListAndWatchResponse {
            ListAndWatchResponse(devices: pool.devices.map { device in
                Device(id: device.id,
                       health: health[device.id]?.healthy == false ? DeviceHealth.unhealthy : DeviceHealth.healthy,
                       topology: device.numaNode.map { TopologyInfo(nodes: [NUMANode(id: Int64($0))]) })
            })
        }
    }

    private let mutex: Mutex<Contents>
    /// Called after a ListAndWatch stream ended, on the stream's task.
    let onStreamEnd: @Sendable () -> Void

    init(_ contents: Contents, onStreamEnd: @escaping @Sendable () -> Void = {}) {
        mutex = Mutex(contents)
        self.onStreamEnd = onStreamEnd
    }
    func withLock<T>(_ body: (inout Contents) -> T) -> T { mutex.withLock { body(&$0) } }

    /// Replaces the pool's devices and health. When the list kubelet sees changed, every
    /// ListAndWatch stream gets it and it is returned; nil when nothing changed.
    func update(pool: ResourcePool, snapshot: HostSnapshot, health: [String: DeviceHealthState]) -> ListAndWatchResponse? {
        let (changed, response, watchers) = withLock { state in
            let before = state.listAndWatchResponse
            state.pool = pool
            state.snapshot = snapshot
            state.health = health
            let after = state.listAndWatchResponse
            return (before != after, after, Array(state.watchers.values))
        }
        guard changed else { return nil }
        for watcher in watchers { watcher.yield(response) }
        return response
    }

    /// Ends every ListAndWatch stream (a clean end: the device list stays whole), so
    /// kubelet tears down its client for this server.
    func finishStreams() {
        let watchers = withLock { state -> [AsyncStream<ListAndWatchResponse>.Continuation] in
            defer { state.watchers.removeAll() }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.finish() }
    }
}
