@testable import DevicePlugin
import Foundation
import HostDevices
import JSONValue
import Logging
import ResourcePools
import SysfsFixtures
import XCTest

/// InfiniBand VFs with no node GUID (network-operator #1825, ib-sriov-cni #66): named
/// with the reason, in the daemon's status and log, and never unhealthy toward kubelet.
final class MissingGUIDTests: XCTestCase {
    private static let config = #"{"resourceList": [{"resourceName": "ib_vfs", "selectors": {"vendors": ["15b3"], "devices": ["101c"]}}, {"resourceName": "roce_vfs", "selectors": {"vendors": ["15b3"], "devices": ["101e"]}}]}"#
    private static let zeroReason = "InfiniBand RDMA device mlx5_1 has node GUID 00:00:00:00:00:00:00:00, all zeros (none assigned): "
        + "an ib-sriov ADD fails (ib-sriov-cni: \"GUID is not valid\") unless the network gives the VF a GUID"
    private static let allOnesReason = "InfiniBand RDMA device mlx5_3 has node GUID ff:ff:ff:ff:ff:ff:ff:ff, all ones (ib-sriov-cni's \"none\", left by a DEL): "
        + "an ib-sriov ADD fails (ib-sriov-cni: \"GUID is not valid\") unless the network gives the VF a GUID"

    private var tree: SysfsFixture!
    private var kubeletDirectory: String!

    override func setUpWithError() throws {
        tree = try EdgeCaseFixtures.infiniBandGUIDs()
        // Socket paths must fit sun_path (108 bytes): a short directory of its own.
        kubeletDirectory = "/tmp/dg-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: kubeletDirectory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: kubeletDirectory)
    }

    private var roots: HostRoots { HostRoots(sysRoot: tree.path, devRoot: tree.devPath) }

    private func address(_ text: String) -> PCIAddress { PCIAddress(text)! }

    func testOnlyInfiniBandDevicesWithAZeroOrAllOnesNodeGUIDAreNamed() {
        let snapshot = HostSnapshot.scan(roots: roots)
        // mlx5_0 (the PF's) and mlx5_2 have GUIDs; mlx5_4 is RoCE, whose zero GUID nothing reads.
        XCTAssertEqual(MissingGUID.all(in: snapshot).map(\.function), [.virtualFunction(address("0000:5e:00.2")), .virtualFunction(address("0000:5e:00.4"))])
        XCTAssertEqual(MissingGUID.all(in: snapshot).map(\.rdmaDevice), ["mlx5_1", "mlx5_3"])
        XCTAssertEqual(MissingGUID.all(in: snapshot).map(\.reason), [Self.zeroReason, Self.allOnesReason])
        XCTAssertEqual(MissingGUID.Function.virtualFunction(address("0000:5e:00.2")).description, "VF 0000:5e:00.2")
        XCTAssertEqual(MissingGUID.Function.pciFunction(address("0000:5e:00.0")).description, "PCI function 0000:5e:00.0")
    }

    func testAPFWithAZeroNodeGUIDIsNamedAsAPCIFunction() throws {
        try tree.write("devices/pci0000:00/0000:5e:00.0/infiniband/mlx5_0/node_guid", "0000:0000:0000:0000")
        let missing = MissingGUID.all(in: HostSnapshot.scan(roots: roots))
        XCTAssertEqual(missing.map(\.function), [.pciFunction(address("0000:5e:00.0")), .virtualFunction(address("0000:5e:00.2")),
                                                 .virtualFunction(address("0000:5e:00.4"))])
    }

    func testPoolNotesNameTheDeviceIDAndTheReason() throws {
        let snapshot = HostSnapshot.scan(roots: roots, detail: .forPools)
        let config = try PoolsConfig.parse(Array(Self.config.utf8), defaultPrefix: "nvidia.com")
        let pools = PoolAssignment(config: config, snapshot: snapshot, explained: false).pools
        XCTAssertEqual(pools.map(\.qualifiedName), ["nvidia.com/ib_vfs", "nvidia.com/roce_vfs"])
        XCTAssertEqual(MissingGUID.notes(of: pools[0], in: snapshot), [
            DaemonStatus.Note(device: "0000:5e:00.2", reason: Self.zeroReason),
            DaemonStatus.Note(device: "0000:5e:00.4", reason: Self.allOnesReason),
        ])
        XCTAssertEqual(MissingGUID.notes(of: pools[1], in: snapshot), [])
    }

    func testStatusNotesRoundTripAndHealthPrintsThemWithoutAProblem() throws {
        var pool = DaemonStatus.Pool(registered: true, streaming: true, socket: "/k/a.sock", devices: 3)
        pool.notes = [DaemonStatus.Note(device: "0000:5e:00.2", reason: "no GUID")]
        let status = DaemonStatus(pid: 7, updated: 100, pools: ["nvidia.com/ib_vfs": pool], configuredPools: ["nvidia.com/ib_vfs"])
        let text = status.json.serialized
        XCTAssertEqual(text, #"{"configuredPools":["nvidia.com/ib_vfs"],"pid":7,"pools":{"nvidia.com/ib_vfs":{"devices":3,"notes":[{"device":"0000:5e:00.2","reason":"no GUID"}],"registered":true,"socket":"/k/a.sock","streaming":true}},"updated":100.0}"#)
        let read = try XCTUnwrap(DaemonStatus(json: try JSON.parse(Array(text.utf8))))
        XCTAssertEqual(read, status)
        XCTAssertEqual(read.noteLines, ["nvidia.com/ib_vfs: 0000:5e:00.2: no GUID"])
        XCTAssertEqual(read.problems(now: 100, maxAge: 30) { $0 == 7 }, [])
    }

    func testDaemonWritesTheNotesLogsEachDeviceOnceAndKeepsKubeletHealthAsItIs() throws {
        let configPath = tree.path + "/config.json"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)
        var configuration = DaemonConfiguration(configPath: configPath, resourcePrefix: "nvidia.com")
        configuration.kubeletDirectory = kubeletDirectory
        configuration.pluginsRegistryDirectory = kubeletDirectory + "/no-plugins-registry"
        configuration.roots = roots
        configuration.stateDirectory = tree.path + "/run"
        let log = RecordingLogHandler.Lines()
        var logger = Logger(label: "test") { _ in RecordingLogHandler(lines: log) }
        logger.logLevel = .info
        let (_, sink) = AsyncStream.makeStream(of: Daemon.Event.self)
        var state = try DaemonState(configuration: configuration, logger: logger, sink: sink)
        defer { state.shutdown() }

        state.rescan()
        state.rescan()
        state.writeStatus()
        let data = try XCTUnwrap(FileSystem.contents(of: configuration.statusFile))
        let status = try XCTUnwrap(DaemonStatus(json: try JSON.parse(data)))
        XCTAssertEqual(status.pools["nvidia.com/ib_vfs"]?.notes, [
            DaemonStatus.Note(device: "0000:5e:00.2", reason: Self.zeroReason),
            DaemonStatus.Note(device: "0000:5e:00.4", reason: Self.allOnesReason),
        ])
        XCTAssertEqual(status.pools["nvidia.com/roce_vfs"]?.notes, [])
        let remedy = "; " + MissingGUID.remedy
        XCTAssertEqual(log.value.filter { $0.contains("node GUID") }, [
            "notice nvidia.com/ib_vfs: 0000:5e:00.2: " + Self.zeroReason + remedy,
            "notice nvidia.com/ib_vfs: 0000:5e:00.4: " + Self.allOnesReason + remedy,
        ])
        // Reporting only: every device is Healthy toward kubelet.
        let server = try XCTUnwrap(state.servers["nvidia.com/ib_vfs"])
        let health = server.handlers.state.withLock { $0.listAndWatchResponse.devices.map { "\($0.id) \($0.health)" } }
        XCTAssertEqual(health, ["0000:5e:00.2 Healthy", "0000:5e:00.3 Healthy", "0000:5e:00.4 Healthy"])

        // ib-sriov-cni set a GUID on VF 0: its note goes; a later rescan logs nothing again.
        try tree.write("devices/pci0000:00/0000:5e:00.2/infiniband/mlx5_1/node_guid", "0c42:a103:005e:0002")
        state.rescan()
        state.writeStatus()
        let after = try XCTUnwrap(DaemonStatus(json: try JSON.parse(try XCTUnwrap(FileSystem.contents(of: configuration.statusFile)))))
        XCTAssertEqual(after.pools["nvidia.com/ib_vfs"]?.notes.map(\.device), ["0000:5e:00.4"])
        // Its DEL wrote all ones back: the note returns, the log line does not.
        try tree.write("devices/pci0000:00/0000:5e:00.2/infiniband/mlx5_1/node_guid", "ffff:ffff:ffff:ffff")
        state.rescan()
        XCTAssertEqual(state.notes["nvidia.com/ib_vfs"]?.map(\.device), ["0000:5e:00.2", "0000:5e:00.4"])
        XCTAssertEqual(log.value.filter { $0.contains("node GUID") }.count, 2)
    }
}

/// Keeps every log line as "<level> <message>".
private struct RecordingLogHandler: LogHandler {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        var value: [String] { lock.withLock { lines } }
        func append(_ line: String) { lock.withLock { lines.append(line) } }
    }

    let lines: Lines
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.append("\(event.level) \(event.message)")
    }
}
