import DevicePluginAPI
@testable import DevicePlugin
import Foundation
import GRPC
import HostDevices
import Logging
import ResourcePools
import SysfsFixtures
import SystemSupport
import TestSupport
import XCTest

/// The daemon's reactions, driven in process: real pool servers on real sockets in a
/// scratch kubelet directory, a Registration service standing in for kubelet, and the
/// daemon's events handed to `DaemonState.handle` by the test, as `Daemon.run` does.
final class DaemonStateTests: XCTestCase {
    private var node: SRIOVNodeFixture!
    private var kubeletDirectory: String!
    private var kubelet: GRPCServer?
    private let registrations = Locked<[RegisterRequest]>([])
    private let events = Locked<[Daemon.Event]>([])
    private var eventReader: Task<Void, Never>?
    private var configPath: String!
    private var state: DaemonState!

    private static let twoPools = #"{"resourceList": [{"resourceName": "a", "selectors": {"rootDevices": ["0000:10:00.0"]}}, {"resourceName": "b", "selectors": {"rootDevices": ["0000:11:00.0"]}}]}"#

    override func setUpWithError() throws {
        node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        // Socket paths must fit sun_path (108 bytes): a short directory of its own.
        kubeletDirectory = "/tmp/dl-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: kubeletDirectory, withIntermediateDirectories: true)
        configPath = node.tree.path + "/config.json"
        try Self.twoPools.write(toFile: configPath, atomically: true, encoding: .utf8)
        try startKubelet()
        try makeState()
    }

    /// The daemon's state, with `pluginsRegistry` as kubelet's plugin watcher directory.
    private func makeState(pluginsRegistry: String? = nil) throws {
        var configuration = DaemonConfiguration(configPath: configPath, resourcePrefix: "intel.com")
        configuration.kubeletDirectory = kubeletDirectory
        configuration.pluginsRegistryDirectory = pluginsRegistry ?? kubeletDirectory + "/no-plugins-registry"
        configuration.roots = HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath)
        configuration.stateDirectory = node.tree.path + "/run"
        let (stream, sink) = AsyncStream.makeStream(of: Daemon.Event.self)
        eventReader?.cancel()
        eventReader = Task { [events] in for await event in stream { events.withLock { $0.append(event) } } }
        var logger = Logger(label: "test")
        logger.logLevel = .debug
        state = try DaemonState(configuration: configuration, logger: logger, sink: sink)
    }

    override func tearDown() {
        state?.shutdown()
        kubelet?.stop()
        eventReader?.cancel()
        try? FileManager.default.removeItem(atPath: kubeletDirectory)
    }

    /// kubelet's Registration service on kubelet.sock, recording each Register.
    private func startKubelet() throws {
        var router = GRPCRouter()
        router.register(RegistrationService.register) { [registrations] request, _ in
            registrations.withLock { $0.append(request) }
            return Empty()
        }
        kubelet = try GRPCServer(socketPath: kubeletDirectory + "/kubelet.sock", router: router)
    }

    /// Hands the daemon's events to the state, as `Daemon.run` does, until `condition` holds.
    private func pump(timeout: Duration = .seconds(10), until condition: () -> Bool,
                      file: StaticString = #filePath, line: UInt = #line) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let pending = events.withLock { list in defer { list.removeAll() }; return list }
            for event in pending { state.handle(event) }
            if pending.isEmpty && condition() { return }
            guard ContinuousClock.now < deadline else {
                XCTFail("condition not met within \(timeout)", file: file, line: line)
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Hands the daemon's events to the state for `duration`, whatever happens.
    private func pump(for duration: Duration) async throws {
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end {
            let pending = events.withLock { list in defer { list.removeAll() }; return list }
            for event in pending { state.handle(event) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private var sockets: [String: String] { state.servers.mapValues(\.socketPath) }

    private func registered() -> [String] {
        registrations.withLock { $0.map(\.resourceName) }.sorted()
    }

    private var allRegistered: Bool { state.servers.count == 2 && state.servers.values.allSatisfy(\.isRegistered) }

    private func startAndRegister() async throws {
        state.rescan()
        try await pump { allRegistered }
        XCTAssertEqual(registered(), ["intel.com/a", "intel.com/b"])
        registrations.withLock { $0.removeAll() }
    }

    func testRescanServesEveryPoolAndRegistersItsSocketOnce() async throws {
        state.rescan()
        try await pump { allRegistered }
        let requests = registrations.withLock { $0 }.sorted { $0.resourceName < $1.resourceName }
        XCTAssertEqual(requests.map(\.resourceName), ["intel.com/a", "intel.com/b"])
        XCTAssertEqual(requests.map(\.endpoint), ["intel.com/a", "intel.com/b"].map { sockets[$0]!.lastPathComponent })
        XCTAssertEqual(requests.map(\.version), [devicePluginAPIVersion, devicePluginAPIVersion])
        XCTAssertEqual(state.servers["intel.com/a"]?.pool.devices.count, 4)
        // Rescans and ticks of an unchanged node register nothing again.
        state.handle(.tick)
        state.handle(.kubeletDirectoryChanged)
        try await pump { true }
        XCTAssertEqual(registrations.withLock { $0.count }, 2)
    }

    func testKubeletRestartServesEveryPoolOnANewSocketAndRegistersOnce() async throws {
        try await startAndRegister()
        let before = sockets
        // kubelet restarted: it removed every socket in its directory and bound a new kubelet.sock.
        kubelet?.stop()
        for path in before.values { unlink(path) }
        state.handle(.kubeletDirectoryChanged)
        try startKubelet()
        state.handle(.kubeletDirectoryChanged)
        try await pump { allRegistered }
        // A few more triggers of the same restart change nothing.
        state.handle(.kubeletDirectoryChanged)
        state.handle(.tick)
        try await pump { true }
        XCTAssertEqual(registered(), ["intel.com/a", "intel.com/b"])
        for (pool, old) in before {
            XCTAssertNotEqual(sockets[pool], old, pool)
            XCTAssertFalse(FileManager.default.fileExists(atPath: old), "old socket \(old) left behind")
            XCTAssertTrue(FileManager.default.fileExists(atPath: sockets[pool]!))
        }
    }

    func testWhileKubeletSockRefusesConnectionsNothingRegistersAndNothingIsAnError() async throws {
        try await startAndRegister()
        // kubelet died: its socket file stays until the next kubelet removes it.
        let path = kubeletDirectory + "/kubelet.sock"
        kubelet?.stop()
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        XCTAssertEqual(bound, 0, String(cString: strerror(errno)))
        close(stale)  // bound, never listening: connections are refused
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        let pool = "intel.com/a"
        unlink(sockets[pool]!)
        state.handle(.kubeletDirectoryChanged)
        try await pump { state.registrations[pool]?.unreachable != nil }
        XCTAssertEqual(state.registrations[pool]?.phase, .waitingForKubelet)
        XCTAssertEqual(state.waiting(pool)?.what, "kubelet.sock to accept connections")
        XCTAssertEqual(registrations.withLock { $0.count }, 0)
        // The new kubelet: the stale file goes, a listening socket comes.
        unlink(path)
        try startKubelet()
        state.handle(.kubeletDirectoryChanged)
        try await pump { allRegistered }
        // Once each with the new kubelet: a for its new socket, b because kubelet changed.
        XCTAssertEqual(registered(), ["intel.com/a", "intel.com/b"])
    }

    func testOurSocketRemovedRestartsOnlyThatPool() async throws {
        try await startAndRegister()
        let before = sockets
        unlink(before["intel.com/b"]!)
        state.handle(.kubeletDirectoryChanged)
        try await pump { state.servers["intel.com/b"]!.isRegistered && registrations.withLock { $0.count } == 1 }
        XCTAssertEqual(registered(), ["intel.com/b"])
        XCTAssertEqual(sockets["intel.com/a"], before["intel.com/a"])
        XCTAssertNotEqual(sockets["intel.com/b"], before["intel.com/b"])
    }

    /// kubelet wiped its directory between the daemon's decision to register and the
    /// connect: Register is not sent for the socket that is gone (kubelet would fail to
    /// dial it and drop the pool's client); the pool registers once, on a new socket.
    func testRegisterIsNotSentForASocketRemovedBeforeTheConnect() async throws {
        try await startAndRegister()
        let pool = "intel.com/a"
        let old = state.servers[pool]!
        state.registrations[pool]!.enter(.waitingForKubelet)
        unlink(old.socketPath)
        state.register(pool, server: old, kubelet: KubeletInstance(socketPath: kubeletDirectory + "/kubelet.sock")!)
        try await pump { state.servers[pool] !== old && state.servers[pool]!.isRegistered }
        let requests = registrations.withLock { $0 }
        XCTAssertEqual(requests.map(\.resourceName), [pool])
        XCTAssertEqual(requests.map(\.endpoint), [state.servers[pool]!.socketPath.lastPathComponent])
    }

    func testEndedListAndWatchStreamMakesThePoolRegisterAgain() async throws {
        try await startAndRegister()
        let before = sockets
        struct StreamGone: Error {}
        // kubelet watched pool a, then its stream ended.
        try? await state.servers["intel.com/a"]!.handlers.listAndWatch { _ in throw StreamGone() }
        try await pump { registrations.withLock { $0.count } == 1 && state.servers["intel.com/a"]!.isRegistered }
        XCTAssertEqual(registered(), ["intel.com/a"])
        XCTAssertNotEqual(sockets["intel.com/a"], before["intel.com/a"])
        XCTAssertEqual(sockets["intel.com/b"], before["intel.com/b"])
    }

    /// kubelet registered a pool but never opened ListAndWatch: the pool registers again
    /// on a new socket once the wait has passed, and the wait doubles.
    func testAPoolKubeletDoesNotWatchRegistersAgainAfterAWait() async throws {
        try await startAndRegister()
        let pool = "intel.com/a"
        XCTAssertEqual(state.waiting(pool)?.what, "kubelet to open ListAndWatch")
        XCTAssertEqual(DaemonState.watchTimeout(retries: 0), .seconds(5))
        XCTAssertEqual(DaemonState.watchTimeout(retries: 1), .seconds(10))
        XCTAssertEqual(DaemonState.watchTimeout(retries: 9), .seconds(60))
        // Not yet due: nothing happens.
        state.handle(.tick)
        try await pump { true }
        XCTAssertEqual(registrations.withLock { $0.count }, 0)
        // Pretend the Register was answered long ago.
        guard case .registered(let instance, _) = state.registrations[pool]!.phase else { return XCTFail("not registered") }
        state.registrations[pool]!.enter(.registered(instance, at: .now - .seconds(6)))
        let old = sockets[pool]!
        state.handle(.tick)
        try await pump { registrations.withLock { $0.count } == 1 && state.servers[pool]!.isRegistered }
        XCTAssertNotEqual(sockets[pool], old)
        XCTAssertEqual(state.registrations[pool]?.unwatchedRetries, 1)
    }

    /// A replaced server that kubelet still holds a connection to keeps serving, with its
    /// streams ended, until kubelet lets go; only then does its successor register.
    func testSuccessorRegistersOnlyAfterKubeletLetsGoOfTheOldServer() async throws {
        try await startAndRegister()
        let pool = "intel.com/a"
        let old = state.servers[pool]!
        // kubelet's connection to the old server, held open.
        let held = UnixConnection(path: old.socketPath)
        try await waitUntil { old.connectionCount == 1 }
        unlink(old.socketPath)
        state.handle(.kubeletDirectoryChanged)
        try await pump { state.retiring[pool] != nil }
        XCTAssertEqual(state.waiting(pool)?.what, "kubelet to let go of the previous socket")
        try await pump(for: .milliseconds(300))
        XCTAssertEqual(registrations.withLock { $0.count }, 0, "registered while kubelet still held the old server")
        held.close()
        try await pump { state.servers[pool]!.isRegistered }
        XCTAssertNil(state.retiring[pool])
        XCTAssertEqual(registered(), [pool])
    }

    /// A rescan that runs out of descriptors is no evidence that devices went: the
    /// pools keep their lists, and the next good rescan carries on.
    func testRescanThatFailsForWantOfDescriptorsKeepsTheDeviceLists() async throws {
        try await startAndRegister()
        let before = state.servers.mapValues { $0.pool.devices.map(\.id) }
        XCTAssertEqual(before["intel.com/a"]?.count, 4)
        withDescriptorsExhausted { state.handle(.tick) }
        XCTAssertNotNil(state.scanFault)
        XCTAssertEqual(state.servers.mapValues { $0.pool.devices.map(\.id) }, before)
        XCTAssertEqual(state.servers["intel.com/a"]?.handlers.state.withLock { $0.listAndWatchResponse.devices.count }, 4)
        state.handle(.tick)
        XCTAssertNil(state.scanFault)
        XCTAssertEqual(state.servers.mapValues { $0.pool.devices.map(\.id) }, before)
        XCTAssertEqual(registrations.withLock { $0.count }, 0)
    }

    /// With kubelet's plugin watcher directory, sockets go there, kubelet comes to them
    /// (GetInfo, then its verdict), and nothing is sent to kubelet.sock; a restarted
    /// kubelet comes back to the same socket.
    func testThroughThePluginWatcherKubeletFindsTheSocketsItself() async throws {
        let registry = kubeletDirectory + "/plugins_registry"
        try FileManager.default.createDirectory(atPath: registry, withIntermediateDirectories: true)
        try makeState(pluginsRegistry: registry)
        state.rescan()
        try await pump { true }
        XCTAssertEqual(Set(sockets.values.map(\.deletingLastPathComponent)), [registry])
        XCTAssertEqual(state.waiting("intel.com/a")?.what, "kubelet's plugin watcher to find the socket")
        for (name, socket) in sockets {
            // What kubelet's plugin watcher does with a new socket.
            let info = try await GRPCClient.unary(socketPath: socket, method: PluginRegistrationService.getInfo, request: InfoRequest())
            XCTAssertEqual([info.type, info.name, info.endpoint], ["DevicePlugin", name, ""])
            XCTAssertEqual(info.supportedVersions, ["v1beta1"])
            var verdict = RegistrationStatus()
            verdict.pluginRegistered = true
            _ = try await GRPCClient.unary(socketPath: socket, method: PluginRegistrationService.notifyRegistrationStatus, request: verdict)
        }
        try await pump { allRegistered }
        XCTAssertEqual(registrations.withLock { $0.count }, 0, "nothing goes to kubelet.sock")
        // kubelet restarts: its stream on pool a ends; the new kubelet finds the same socket.
        let before = sockets
        struct KubeletGone: Error {}
        try? await state.servers["intel.com/a"]!.handlers.listAndWatch { _ in throw KubeletGone() }
        state.handle(.tick)
        try await pump { true }
        XCTAssertEqual(sockets, before)
        // A kubelet that stays away past the wait gets a new socket to find.
        state.registrations["intel.com/b"]!.enter(.refused(at: .now - .seconds(6)))
        state.handle(.tick)
        try await pump { sockets["intel.com/b"] != before["intel.com/b"] }
        XCTAssertFalse(FileManager.default.fileExists(atPath: before["intel.com/b"]!))
        XCTAssertEqual(registrations.withLock { $0.count }, 0)
    }

    func testConfigChangeStartsNewPoolsAndStopsRemovedOnes() async throws {
        try await startAndRegister()
        let oldB = sockets["intel.com/b"]!
        try #"{"resourceList": [{"resourceName": "a", "selectors": {"rootDevices": ["0000:10:00.0"]}}, {"resourceName": "c", "selectors": {"rootDevices": ["0000:11:00.0"]}}]}"#
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        state.handle(.reloadConfig)
        try await pump { state.servers["intel.com/c"]?.isRegistered == true }
        XCTAssertEqual(registered(), ["intel.com/c"])
        XCTAssertEqual(state.servers.keys.sorted(), ["intel.com/a", "intel.com/c"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: oldB))
    }

    func testBrokenConfigOnReloadKeepsTheServedPools() async throws {
        try await startAndRegister()
        let before = sockets
        try #"{"resourceList": [{"resourceName": "a b"}]}"#.write(toFile: configPath, atomically: true, encoding: .utf8)
        state.handle(.reloadConfig)
        try await pump { true }
        XCTAssertEqual(sockets, before)
        XCTAssertEqual(registrations.withLock { $0.count }, 0)
    }

    func testWithoutKubeletNothingRegistersUntilKubeletSockAppears() async throws {
        kubelet?.stop()
        kubelet = nil
        state.rescan()
        try await pump { true }
        XCTAssertEqual(state.servers.count, 2)
        XCTAssertFalse(state.servers.values.contains(where: \.isRegistered))
        XCTAssertEqual(state.waiting("intel.com/a")?.what, "kubelet.sock to accept connections")
        try startKubelet()
        state.handle(.kubeletDirectoryChanged)
        try await pump { allRegistered }
        XCTAssertEqual(registered(), ["intel.com/a", "intel.com/b"])
    }
}

/// A client connection held open on a Unix socket, as kubelet holds one to a plugin.
final class UnixConnection {
    private var fd: Int32
    init(path: String) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: Array(path.utf8) + [0]) }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    }
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
    deinit { close() }
}
