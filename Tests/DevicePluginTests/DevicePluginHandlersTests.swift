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

/// The DevicePlugin service's answers, called in process without a socket.
final class DevicePluginHandlersTests: XCTestCase {
    private var node: SRIOVNodeFixture!
    private var snapshot: HostSnapshot!
    private var pool: ResourcePool!
    private var deviceInfoDirectory: String!

    override func setUpWithError() throws {
        node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath))
        let config = try PoolsConfig.parse(Data(#"{"resourceList": [{"resourceName": "mlnx_rdma", "resourcePrefix": "nvidia.com", "selectors": {"vendors": ["15b3"], "isRdma": true}}]}"#.utf8))
        pool = PoolAssignment(config: config, snapshot: snapshot).pools[0]
        deviceInfoDirectory = node.tree.path + "/devinfo/dp"
    }

    private func handlers(health: [String: DeviceHealthState] = [:]) -> DevicePluginHandlers {
        DevicePluginHandlers(state: PoolServerState(.init(pool: pool, snapshot: snapshot, health: health)),
                             options: AllocationOptions(deviceInfoDirectory: deviceInfoDirectory), logger: Logger(label: "test"))
    }

    func testAllocateAnswersEachContainerAndWritesItsDeviceInfoFilesReadOnly() throws {
        let response = try handlers().allocate(AllocateRequest(containerRequests: [
            ContainerAllocateRequest(devicesIDs: ["0000:10:01.1"]), ContainerAllocateRequest(devicesIDs: ["0000:10:01.2"]),
        ]))
        XCTAssertEqual(response.containerResponses.map { $0.envs["PCIDEVICE_NVIDIA_COM_MLNX_RDMA"] }, ["0000:10:01.1", "0000:10:01.2"])
        XCTAssertEqual(response.containerResponses[0].devices.map(\.containerPath),
                       ["/dev/infiniband/issm2", "/dev/infiniband/umad2", "/dev/infiniband/uverbs2", "/dev/infiniband/rdma_cm"])
        let path = deviceInfoDirectory + "/nvidia.com-mlnx_rdma-0000:10:01.1-device.json"
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8),
                       #"{"pci":{"pci-address":"0000:10:01.1","rdma-device":"mlx5_2"},"type":"pci","version":"1.1.0"}"#)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o444)
    }

    func testAllocateRefusesADeviceOutsideThePoolAndAnUnhealthyOne() {
        let handlers = handlers(health: ["0000:10:01.2": .unhealthy("PF enp16s0 has no carrier")])
        XCTAssertThrowsError(try handlers.allocate(AllocateRequest(containerRequests: [ContainerAllocateRequest(devicesIDs: ["0000:11:01.0"])]))) {
            XCTAssertEqual($0 as? GRPCStatus, GRPCStatus(.invalidArgument, #"device "0000:11:01.0" is not in pool nvidia.com/mlnx_rdma"#))
        }
        XCTAssertThrowsError(try handlers.allocate(AllocateRequest(containerRequests: [ContainerAllocateRequest(devicesIDs: ["0000:10:01.2"])]))) {
            XCTAssertEqual($0 as? GRPCStatus,
                           GRPCStatus(.failedPrecondition, #"device "0000:10:01.2" of nvidia.com/mlnx_rdma is unhealthy: PF enp16s0 has no carrier"#))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: deviceInfoDirectory))
    }

    func testPreferredAllocationComesFromThePool() {
        let ids = pool.devices.map(\.id)
        let response = handlers().preferredAllocation(PreferredAllocationRequest(containerRequests: [
            ContainerPreferredAllocationRequest(availableDeviceIDs: ids, mustIncludeDeviceIDs: [], allocationSize: 2),
        ]))
        XCTAssertEqual(response.containerResponses.map(\.deviceIDs),
                       [pool.preferredAllocation(available: ids, mustInclude: [], size: 2)])
        XCTAssertEqual(response.containerResponses[0].deviceIDs.count, 2)
    }

    /// The full list first, then the list again after a change, and the stream counted
    /// as ended once its sender fails (what the daemon's re-registration watches).
    func testListAndWatchSendsTheListThenEachChangeAndEndsWhenTheSenderFails() async throws {
        let handlers = handlers()
        let received = Mutex<[ListAndWatchResponse]>([])
        struct KubeletGone: Error {}
        let watcher = Task {
            try await handlers.listAndWatch { response in
                let count = received.withLock { $0.append(response); return $0.count }
                if count == 3 { throw KubeletGone() }
            }
        }
        try await waitUntil { received.withLock { $0.count } == 1 }
        XCTAssertEqual(received.withLock { $0[0].devices.map(\.id) }, pool.devices.map(\.id))
        XCTAssertTrue(received.withLock { $0[0].devices.allSatisfy { $0.health == DeviceHealth.healthy } })
        // The same list again is not news; a device going unhealthy is.
        XCTAssertNil(handlers.state.update(pool: pool, snapshot: snapshot, health: [:]))
        XCTAssertNotNil(handlers.state.update(pool: pool, snapshot: snapshot, health: ["0000:10:01.1": .unhealthy("gone")]))
        try await waitUntil { received.withLock { $0.count } == 2 }
        XCTAssertEqual(received.withLock { $0[1].devices.first { $0.id == "0000:10:01.1" }?.health }, DeviceHealth.unhealthy)
        XCTAssertEqual(handlers.state.withLock { $0.watchers.count }, 1)
        var fewer = pool!
        fewer.devices.removeLast()
        _ = handlers.state.update(pool: fewer, snapshot: snapshot, health: [:])
        do {
            try await watcher.value
            XCTFail("the stream should end with the sender's error")
        } catch is KubeletGone {}
        XCTAssertEqual(handlers.state.withLock { ($0.streamsOpened, $0.watchers.count) }.0, 1)
        XCTAssertEqual(handlers.state.withLock { $0.watchers.count }, 0)
    }
}

/// Polls `condition` until it holds or `timeout` passes (tests never sleep for a fixed time).
func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            XCTFail("condition not met within \(timeout)", file: file, line: line)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
