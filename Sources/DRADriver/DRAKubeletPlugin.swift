import DRACheckpoint
import DRAAPI
import DevicePluginAPI
import GRPC
import HostDevices
import ResourcePools
import Synchronization
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// The DRA driver as kubelet sees it: a registration socket in plugins_registry
/// (`<driver>-reg.sock`: GetInfo says `DRAPlugin`, the driver name, the endpoint and the
/// services served) and the endpoint `<pluginDir>/dra.sock` serving DRAPlugin v1 and
/// v1beta1 (NodePrepareResources, NodeUnprepareResources) and DRAResourceHealth
/// v1alpha1 and v1 (NodeWatchResources: every device's health, again at every change).
public final class DRAKubeletPlugin: Sendable {
    /// What the daemon knows now: the pools served through DRA, the snapshot they were
    /// made from, and each device's health by pool device ID.
    public struct Inventory: Sendable {
        public var pools: [ResourcePool]
        public var snapshot: HostSnapshot
        public var health: [String: DeviceHealthState]

        public init(pools: [ResourcePool], snapshot: HostSnapshot, health: [String: DeviceHealthState] = [:]) {
            self.pools = pools
            self.snapshot = snapshot
            self.health = health
        }
    }

    public let preparer: ClaimPreparer
    public let registrationSocket: String
    public let endpoint: String
    private let inventory: @Sendable () -> Inventory
    /// Called after a Prepare or Unprepare call, before it answers kubelet: it must not block.
    private let claimsChanged: (@Sendable () -> Void)?
    /// Called when kubelet registered the plugin (also after kubelet restarted).
    private let onRegistered: (@Sendable () -> Void)?
    private let servers = Mutex<[GRPCServer]>([])
    private let watchers = Mutex<(next: Int, streams: [Int: AsyncStream<NodeWatchResourcesResponse>.Continuation])>((0, [:]))
    /// kubelet's last verdict on the registration.
    public let registration = Mutex<RegistrationStatus?>(nil)

    public init(preparer: ClaimPreparer, pluginsRegistryDirectory: String, pluginDirectory: String,
                inventory: @escaping @Sendable () -> Inventory,
                claimsChanged: (@Sendable () -> Void)? = nil,
                onRegistered: (@Sendable () -> Void)? = nil) {
        self.preparer = preparer
        self.claimsChanged = claimsChanged
        self.onRegistered = onRegistered
        registrationSocket = pluginsRegistryDirectory + "/\(preparer.names.driver)-reg.sock"
        endpoint = pluginDirectory + "/dra.sock"
        self.inventory = inventory
    }

    /// Serves the endpoint first, then the registration socket (kubelet dials the
    /// endpoint as soon as it sees the registration socket).
    public func start(configuration: GRPCServer.Configuration = GRPCServer.Configuration()) throws {
        if let slash = endpoint.lastIndex(of: "/") { try createDirectories(String(endpoint[..<slash])) }
        if let slash = registrationSocket.lastIndex(of: "/") { try createDirectories(String(registrationSocket[..<slash])) }
        let service = try GRPCServer(socketPath: endpoint, router: serviceRouter(), configuration: configuration)
        do {
            let registrar = try GRPCServer(socketPath: registrationSocket, router: registrationRouter(), configuration: configuration)
            servers.withLock { $0 = [service, registrar] }
        } catch {
            service.stop()
            throw error
        }
    }

    /// Removes the registration socket first, so kubelet stops dialling the endpoint.
    public func stop() {
        let stopping = servers.withLock { servers in
            defer { servers = [] }
            return servers
        }
        for server in stopping.reversed() { server.stop() }
        watchers.withLock { state in
            for continuation in state.streams.values { continuation.finish() }
            state.streams = [:]
        }
    }

    /// Sends every health stream the devices' health now.
    public func healthChanged() {
        let response = healthResponse()
        watchers.withLock { state in
            for continuation in state.streams.values { continuation.yield(response) }
        }
    }

    var info: PluginInfo {
        var info = PluginInfo()
        info.type = DRAServiceName.pluginType
        info.name = preparer.names.driver
        info.endpoint = endpoint
        info.supportedVersions = [DRAServiceName.pluginV1, DRAServiceName.pluginV1beta1, DRAServiceName.healthV1alpha1,
                                  DRAServiceName.healthV1]
        return info
    }

    func registrationRouter() -> GRPCRouter {
        var router = GRPCRouter()
        let info = self.info
        router.register(PluginRegistrationService.getInfo) { _, _ in info }
        router.register(PluginRegistrationService.notifyRegistrationStatus) { [weak self] status, _ in
            self?.registration.withLock { $0 = status }
            if status.pluginRegistered { self?.onRegistered?() }
            return RegistrationStatusResponse()
        }
        return router
    }

    func serviceRouter() -> GRPCRouter {
        var router = GRPCRouter()
        for (service, withShareID) in [(DRAPluginService.v1, true), (DRAPluginService.v1beta1, false)] {
            router.register(service.nodePrepareResources) { [weak self] request, _ in
                guard let self else { throw GRPCStatus(.unavailable, "the DRA plugin is stopping") }
                let response = prepare(request, withShareID: withShareID)
                claimsChanged?()
                return response
            }
            router.register(service.nodeUnprepareResources) { [weak self] request, _ in
                guard let self else { throw GRPCStatus(.unavailable, "the DRA plugin is stopping") }
                let response = unprepare(request)
                claimsChanged?()
                return response
            }
        }
        for method in [DRAResourceHealthService.nodeWatchResourcesV1alpha1, DRAResourceHealthService.nodeWatchResourcesV1] {
            router.registerStreaming(method, coalescing: .latestOnly) { [weak self] _, stream, _ in
                try await self?.watch { try await stream.send($0) }
            }
        }
        return router
    }

    func prepare(_ request: NodePrepareResourcesRequest, withShareID: Bool) -> NodePrepareResourcesResponse {
        let now = inventory()
        let references = request.claims.map { ClaimReference(namespace: $0.namespace, name: $0.name, uid: $0.uid) }
        let results = preparer.prepare(references, pools: now.pools, snapshot: now.snapshot)
        var response = NodePrepareResourcesResponse()
        for claim in request.claims {
            switch results[claim.uid] {
            case .success(let devices)?:
                response.claims[claim.uid] = NodePrepareResourceResponse(devices: devices.map { device in
                    Device(requestNames: device.requestNames, poolName: device.pool, deviceName: device.device,
                           cdiDeviceIDs: device.cdiDeviceIDs, shareID: withShareID ? device.shareID : nil)
                })
            case .failure(let error)?:
                response.claims[claim.uid] = NodePrepareResourceResponse(error: error.description)
            case nil:
                response.claims[claim.uid] = NodePrepareResourceResponse(error: "claim \(claim.uid) was not prepared")
            }
        }
        return response
    }

    func unprepare(_ request: NodeUnprepareResourcesRequest) -> NodeUnprepareResourcesResponse {
        let references = request.claims.map { ClaimReference(namespace: $0.namespace, name: $0.name, uid: $0.uid) }
        let results = preparer.unprepare(references)
        var response = NodeUnprepareResourcesResponse()
        for claim in request.claims {
            response.claims[claim.uid] = NodeUnprepareResourceResponse(error: (results[claim.uid] ?? nil)?.description ?? "")
        }
        return response
    }

    func healthResponse() -> NodeWatchResourcesResponse {
        let now = inventory()
        let seconds = Int64(time(nil))
        return NodeWatchResourcesResponse(devices: now.pools.flatMap { pool in
            pool.devices.map { device in
                let state = now.health[device.id]
                return DeviceHealth(poolName: preparer.names.pool(pool.config), deviceName: DRANames.device(device.id),
                                    health: state.map { $0.healthy ? .healthy : .unhealthy } ?? .healthy, lastUpdatedTime: seconds,
                                    message: String((state?.reason ?? "").prefix(1024)))
            }
        })
    }

    func watch(send: (NodeWatchResourcesResponse) async throws -> Void) async throws {
        let (updates, continuation) = AsyncStream.makeStream(of: NodeWatchResourcesResponse.self, bufferingPolicy: .bufferingNewest(1))
        let id = watchers.withLock { state in
            defer { state.next += 1 }
            state.streams[state.next] = continuation
            return state.next
        }
        defer { _ = watchers.withLock { $0.streams.removeValue(forKey: id) } }
        try await send(healthResponse())
        for await update in updates { try await send(update) }
    }
}
