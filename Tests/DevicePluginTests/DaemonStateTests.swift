import DevicePluginAPI
@testable import DevicePlugin
import Foundation
import GRPC
import HostDevices
import Logging
import ResourcePools
import Synchronization
import SysfsFixtures
import XCTest
import SystemSupport

/// The daemon's reactions, driven in process: real pool servers on real sockets in a
/// scratch kubelet directory, a Registration service standing in for kubelet, and the
/// loop's events fed back by the test instead of `Daemon.run`.
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
        var configuration = DaemonConfiguration(configPath: configPath, resourcePrefix: "intel.com")
        configuration.kubeletDirectory = kubeletDirectory
        configuration.roots = HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath)
        configuration.stateDirectory = node.tree.path + "/run"
        let (stream, sink) = AsyncStream.makeStream(of: Daemon.Event.self)
        eventReader = Task { [events] in for await event in stream { events.withLock { $0.append(event) } } }
        state = try DaemonState(configuration: configuration, logger: Logger(label: "test"), sink: sink)
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

    /// Waits for `count` Register results and hands them to the loop, as `Daemon.run` does.
    private func deliverRegistrations(_ count: Int) async throws {
        try await waitUntil { events.withLock { $0.count } >= count }
        let pending = events.withLock { list in defer { list.removeAll() }; return list }
        XCTAssertEqual(pending.count, count, "more Register calls than expected")
        for event in pending {
            switch event {
            case .registered(let pool, let socket): state.registered(pool: pool, socket: socket)
            case .registrationFailed(let pool, let socket, let reason): state.registrationFailed(pool: pool, socket: socket, reason: reason)
            default: XCTFail("unexpected event \(event)")
            }
        }
    }

    private var sockets: [String: String] { state.servers.mapValues(\.socketPath) }

    private func registered() -> [String] {
        registrations.withLock { $0.map(\.resourceName) }.sorted()
    }

    private func startAndRegister() async throws {
        state.rescan()
        try await deliverRegistrations(2)
        XCTAssertEqual(registered(), ["intel.com/a", "intel.com/b"])
        XCTAssertTrue(state.servers.values.allSatisfy(\.isRegistered))
        registrations.withLock { $0.removeAll() }
    }

    func testRescanServesEveryPoolAndRegistersItsSocketOnce() async throws {
        state.rescan()
        try await deliverRegistrations(2)
        let requests = registrations.withLock { $0 }.sorted { $0.resourceName < $1.resourceName }
        XCTAssertEqual(requests.map(\.resourceName), ["intel.com/a", "intel.com/b"])
        XCTAssertEqual(requests.map(\.endpoint), ["intel.com/a", "intel.com/b"].map { sockets[$0]!.lastPathComponent })
        XCTAssertEqual(requests.map(\.version), [devicePluginAPIVersion, devicePluginAPIVersion])
        XCTAssertEqual(state.servers["intel.com/a"]?.pool.devices.count, 4)
        // A rescan of an unchanged node registers nothing again.
        state.rescan()
        state.checkConnections()
        XCTAssertEqual(registrations.withLock { $0.count }, 2)
    }

    func testKubeletRestartServesEveryPoolOnANewSocketAndRegistersAgain() async throws {
        try await startAndRegister()
        let before = sockets
        // kubelet restarted: it wiped its directory and re-created kubelet.sock.
        kubelet?.stop()
        try startKubelet()
        state.kubeletDirectoryChanged(name: "kubelet.sock", created: true)
        try await deliverRegistrations(2)
        XCTAssertEqual(registered(), ["intel.com/a", "intel.com/b"])
        for (pool, old) in before {
            XCTAssertNotEqual(sockets[pool], old, pool)
            XCTAssertFalse(FileManager.default.fileExists(atPath: old), "old socket \(old) left behind")
            XCTAssertTrue(FileManager.default.fileExists(atPath: sockets[pool]!))
        }
        XCTAssertTrue(state.servers.values.allSatisfy(\.isRegistered))
    }

    func testOurSocketRemovedRestartsOnlyThatPool() async throws {
        try await startAndRegister()
        let before = sockets
        state.kubeletDirectoryChanged(name: before["intel.com/b"]!.lastPathComponent, created: false)
        try await deliverRegistrations(1)
        XCTAssertEqual(registered(), ["intel.com/b"])
        XCTAssertEqual(sockets["intel.com/a"], before["intel.com/a"])
        XCTAssertNotEqual(sockets["intel.com/b"], before["intel.com/b"])
    }

    func testEndedListAndWatchStreamMakesThePoolRegisterAgain() async throws {
        try await startAndRegister()
        let before = sockets
        struct StreamGone: Error {}
        // kubelet watched pool a, then its stream ended.
        try? await state.servers["intel.com/a"]!.handlers.listAndWatch { _ in throw StreamGone() }
        state.checkConnections()
        try await deliverRegistrations(1)
        XCTAssertEqual(registered(), ["intel.com/a"])
        XCTAssertNotEqual(sockets["intel.com/a"], before["intel.com/a"])
        XCTAssertEqual(sockets["intel.com/b"], before["intel.com/b"])
    }

    func testConfigChangeStartsNewPoolsAndStopsRemovedOnes() async throws {
        try await startAndRegister()
        let oldB = sockets["intel.com/b"]!
        try #"{"resourceList": [{"resourceName": "a", "selectors": {"rootDevices": ["0000:10:00.0"]}}, {"resourceName": "c", "selectors": {"rootDevices": ["0000:11:00.0"]}}]}"#
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        state.reloadConfig()
        state.rescan()
        try await deliverRegistrations(1)
        XCTAssertEqual(registered(), ["intel.com/c"])
        XCTAssertEqual(state.servers.keys.sorted(), ["intel.com/a", "intel.com/c"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: oldB))
    }

    func testBrokenConfigOnReloadKeepsTheServedPools() async throws {
        try await startAndRegister()
        let before = sockets
        try #"{"resourceList": [{"resourceName": "a b"}]}"#.write(toFile: configPath, atomically: true, encoding: .utf8)
        state.reloadConfig()
        state.rescan()
        XCTAssertEqual(sockets, before)
        XCTAssertEqual(registrations.withLock { $0.count }, 0)
    }

    func testWithoutKubeletNothingRegistersUntilKubeletSockAppears() async throws {
        kubelet?.stop()
        kubelet = nil
        state.rescan()
        XCTAssertEqual(state.servers.count, 2)
        XCTAssertFalse(state.servers.values.contains(where: \.isRegistered))
        XCTAssertEqual(events.withLock { $0.count }, 0)
        try startKubelet()
        state.kubeletDirectoryChanged(name: "kubelet.sock", created: true)
        try await deliverRegistrations(2)
        XCTAssertTrue(state.servers.values.allSatisfy(\.isRegistered))
    }
}

/// A value shared with server handlers and tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}
