import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import DevicePluginAPI
import GRPC

/// A test fixture for the interop suite (Tests/interop): serves the DevicePlugin
/// service with canned devices on a Unix socket, or calls Register on a kubelet
/// stand-in, so that a real gRPC implementation (Python grpcio) can exercise our stack.
@main
struct InteropServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-interop-server",
        abstract: "DevicePlugin test server and Register client for the gRPC interop suite.",
        subcommands: [Serve.self, Register.self, DRAServe.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: """
        Serve DevicePlugin with devices Dev-1...Dev-N. Allocate answers per device ID: \
        "big-<bytes>" returns an env var of that size, "slow-<ms>" answers after that delay, \
        "fail-<code>" fails with that gRPC code; PreStartContainer takes "slow-<ms>" too.
        """)

    @Option(help: "Socket path to serve on.") var socket: String
    @Option(help: "Number of devices.") var devices = 2
    @Option(help: "Health changes ListAndWatch sends after the first list.") var updates = 0
    @Option(help: "After those, one more health change every this many milliseconds, for ever.") var updateIntervalMs: Int?
    @Flag(help: "Register ListAndWatch as latest-only (as the daemon does): a peer that does not read gets only the newest list.")
    var latestOnly = false
    @Option(help: "GRPCServer.Configuration.maxConnections.") var maxConnections: Int?
    @Option(help: "GRPCServer.Configuration.handshakeTimeout, in milliseconds.") var handshakeTimeoutMs: Int?
    @Option(help: "GRPCServer.Configuration.maxQueuedBytes.") var maxQueuedBytes: Int?

    func run() async throws {
        let deviceCount = devices
        let updateCount = updates
        let interval = updateIntervalMs.map { Duration.milliseconds($0) }
        var configuration = GRPCServer.Configuration()
        if let maxConnections { configuration.maxConnections = maxConnections }
        if let handshakeTimeoutMs { configuration.handshakeTimeout = .milliseconds(handshakeTimeoutMs) }
        if let maxQueuedBytes { configuration.maxQueuedBytes = maxQueuedBytes }
        configuration.log = { message in
            let line = Array("\(message)\n".utf8)
            _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
        var router = GRPCRouter()
        router.register(DevicePluginService.getDevicePluginOptions) { _, _ in
            DevicePluginOptions(preStartRequired: true, getPreferredAllocationAvailable: true)
        }
        router.registerStreaming(DevicePluginService.listAndWatch, coalescing: latestOnly ? .latestOnly : .everyMessage) { _, stream, _ in
            var list = (1...max(1, deviceCount)).map { Device(id: "Dev-\($0)", health: DeviceHealth.healthy, topology: TopologyInfo(nodes: [NUMANode(id: 0)])) }
            try await stream.send(ListAndWatchResponse(devices: list))
            var update = 0
            func toggle() {
                let index = update % list.count
                list[index].health = list[index].health == DeviceHealth.healthy ? DeviceHealth.unhealthy : DeviceHealth.healthy
                update += 1
            }
            for _ in 0..<updateCount {
                toggle()
                try await stream.send(ListAndWatchResponse(devices: list))
            }
            if let interval {
                while true {
                    try await Task.sleep(for: interval)
                    toggle()
                    try await stream.send(ListAndWatchResponse(devices: list))
                }
            }
            // ListAndWatch never ends while the plugin lives (kubelet does not retry it).
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
        router.register(DevicePluginService.getPreferredAllocation) { request, _ in
            PreferredAllocationResponse(containerResponses: request.containerRequests.map { container in
                let rest = container.availableDeviceIDs.filter { !container.mustIncludeDeviceIDs.contains($0) }
                let chosen = container.mustIncludeDeviceIDs + rest.prefix(max(0, Int(container.allocationSize) - container.mustIncludeDeviceIDs.count))
                return ContainerPreferredAllocationResponse(deviceIDs: Array(chosen))
            })
        }
        router.register(DevicePluginService.allocate) { request, _ in
            var responses: [ContainerAllocateResponse] = []
            for container in request.containerRequests {
                var response = ContainerAllocateResponse()
                for id in container.devicesIDs {
                    try await behave(id)
                    if let size = number(after: "big-", in: id) {
                        response.envs["BIG"] = String(repeating: "x", count: size)
                    }
                    response.devices.append(DeviceSpec(containerPath: "/dev/\(id)", hostPath: "/dev/null", permissions: "rw"))
                }
                response.envs["DEVICES"] = container.devicesIDs.joined(separator: ",")
                responses.append(response)
            }
            return AllocateResponse(containerResponses: responses)
        }
        router.register(DevicePluginService.preStartContainer) { request, _ in
            for id in request.devicesIDs { try await behave(id) }
            return PreStartContainerResponse()
        }
        let server = try GRPCServer(socketPath: socket, router: router, configuration: configuration)
        print("serving \(server.socketPath)")
        fflush(nil)  // flush every stream: the test waits for this line through a pipe
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Call Registration.Register; print `ok` or `error <code> <message>`.")

    @Option(help: "kubelet.sock of the kubelet stand-in.") var kubeletSocket: String
    @Option(help: "Resource name to register.") var resource: String
    @Option(help: "Endpoint (socket base name) to register.") var endpoint: String

    func run() async throws {
        do {
            _ = try await GRPCClient.unary(
                socketPath: kubeletSocket, method: RegistrationService.register,
                request: RegisterRequest(version: devicePluginAPIVersion, endpoint: endpoint, resourceName: resource,
                                         options: DevicePluginOptions(preStartRequired: false, getPreferredAllocationAvailable: true)),
                timeout: .seconds(30))
            print("ok")
        } catch let status as GRPCStatus {
            print("error \(status.code.rawValue) \(status.message)")
            throw ExitCode(1)
        }
    }
}

private func number(after prefix: String, in id: String) -> Int? {
    id.hasPrefix(prefix) ? Int(id.dropFirst(prefix.count)) : nil
}

/// Test behaviours encoded in device IDs.
private func behave(_ id: String) async throws {
    if let milliseconds = number(after: "slow-", in: id) {
        try await Task.sleep(for: .milliseconds(milliseconds))
    }
    if let raw = number(after: "fail-", in: id), let code = GRPCStatusCode(rawValue: raw) {
        throw GRPCStatus(code, "requested failure for \(id): ünïcödé % 100")
    }
}
