import HostDevices
import SysfsFixtures
import XCTest

/// What discovery reads from the hand-made edge-case nodes in `EdgeCaseFixtures`.
final class EdgeCaseDiscoveryTests: XCTestCase {
    private func scan(_ tree: SysfsFixture, readGIDs: Bool = false) -> HostSnapshot {
        HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path, devRoot: tree.devPath), readGIDs: readGIDs)
    }

    private func address(_ text: String) -> PCIAddress { PCIAddress(text)! }

    func testPortOnePKeyIsReadOnEveryScanAndTheWholeTableWithTheGIDs() throws {
        let tree = try EdgeCaseFixtures.infiniBandPartitions()
        let quick = scan(tree)
        XCTAssertEqual(quick.rdmaDevices.map { $0.ports.map(\.pKeys) }, [
            [[0: PartitionKey(rawValue: 0xffff)]], [[0: PartitionKey(rawValue: 0xffff)]],
            [[0: PartitionKey(rawValue: 0x8001)]], [[0: PartitionKey(rawValue: 0x0001)]],
        ])
        XCTAssertEqual(quick.rdmaDevices.map(\.name), ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"])
        XCTAssertEqual(quick.rdmaDevices.map { $0.ports.map(\.linkLayer) }, [["InfiniBand"], ["InfiniBand"], ["InfiniBand"], ["InfiniBand"]])

        // The full table, with the unused `0x0000` slot of mlx5_2 left out.
        let full = scan(tree, readGIDs: true)
        XCTAssertEqual(full.rdmaDevices.map { $0.ports.map(\.pKeys) }, [
            [[0: PartitionKey(rawValue: 0xffff), 1: PartitionKey(rawValue: 0x7fff)]],
            [[0: PartitionKey(rawValue: 0xffff), 1: PartitionKey(rawValue: 0x7fff)]],
            [[0: PartitionKey(rawValue: 0x8001), 1: PartitionKey(rawValue: 0x7fff)]],
            [[0: PartitionKey(rawValue: 0x0001)]],
        ])
        XCTAssertEqual(full.rdmaDevices(of: address("0000:5e:00.3")).map(\.pciAddress), [address("0000:5e:00.3")])
        let ipoib = try XCTUnwrap(full.networkInterfaces.first { $0.name == "ibp94s0v1" })
        XCTAssertEqual(ipoib.linkTypeName, "infiniband")
        XCTAssertEqual(ipoib.macAddress?.bytes.count, 20)
    }

    func testPartitionKeyParsesWhatSysfsAndConfigsWriteAndPrintsLikeSysfs() {
        XCTAssertEqual(PartitionKey("0xffff")?.rawValue, 0xffff)
        XCTAssertEqual(PartitionKey("0x1")?.rawValue, 0x0001)
        XCTAssertEqual(PartitionKey("7FFF")?.rawValue, 0x7fff)
        XCTAssertEqual(PartitionKey(rawValue: 0x0001).description, "0x0001")
        XCTAssertEqual(PartitionKey(rawValue: 0x8001).partition, 1)
        XCTAssertTrue(PartitionKey(rawValue: 0x8001).isFullMember)
        XCTAssertFalse(PartitionKey(rawValue: 0x0001).isFullMember)
        for bad in ["", "0x", "0x10000", "0xfffg", "-1", "+1", "0x 1"] { XCTAssertNil(PartitionKey(bad), bad) }
    }
}
