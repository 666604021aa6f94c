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

    func testNodeGUIDIsReadOnEveryScanIncludingTheDaemonsRescans() throws {
        let tree = try EdgeCaseFixtures.infiniBandGUIDs()
        let expected = [InfiniBandGUID(rawValue: 0x0c42_a103_005e_0000), InfiniBandGUID(rawValue: 0), InfiniBandGUID(rawValue: 0x0c42_a103_005e_0003),
                        .allOnes, InfiniBandGUID(rawValue: 0)]
        for detail in [ScanDetail.all, .forPools] {
            let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path, devRoot: tree.devPath), detail: detail)
            XCTAssertEqual(snapshot.rdmaDevices.map(\.name), ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3", "mlx5_4"])
            XCTAssertEqual(snapshot.rdmaDevices.map(\.nodeGUID), expected)
            XCTAssertEqual(snapshot.rdmaDevices.map(\.hasInfiniBandPort), [true, true, true, true, false])
        }
        XCTAssertEqual(InfiniBandGUID(rawValue: 0x0c42_a103_005e_0003).description, "0c:42:a1:03:00:5e:00:03")
        // A device without the attribute (the other fixtures, an old kernel) has none.
        let partitions = try EdgeCaseFixtures.infiniBandPartitions()
        XCTAssertEqual(scan(partitions).rdmaDevices.map(\.nodeGUID), [nil, nil, nil, nil])
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

    func testUnboundFunctionAndNUMANodeMinusOne() throws {
        let snapshot = scan(try EdgeCaseFixtures.unboundAndNoNUMA())
        XCTAssertEqual(snapshot.pciDevices.map(\.address), [address("0000:02:00.0"), address("0000:02:00.1")])
        XCTAssertEqual(snapshot.pciDevices.map(\.driver), ["igb", nil])
        XCTAssertEqual(snapshot.pciDevices.map(\.numaNode), [nil, nil])
        XCTAssertEqual(snapshot.pciDevices.map(\.deviceID), [0x1521, 0x1521])
        XCTAssertEqual(snapshot.interfaces(of: address("0000:02:00.0")).map(\.name), ["enp2s0f0"])
        XCTAssertEqual(snapshot.interfaces(of: address("0000:02:00.1")), [])
        // No driver, so no netdev is expected: not reported as hidden.
        XCTAssertEqual(snapshot.pciDevices.map { snapshot.netdevNotVisible($0) }, [false, false])
        XCTAssertEqual(snapshot.physicalFunctions, [])
    }

    /// SRIOV-DP #383: representors share the PF's `net/` and sort before the uplink.
    func testRepresentorsNeitherNameThePFNorPassForVFNetdevs() throws {
        let snapshot = scan(try EdgeCaseFixtures.switchdevRepresentors())
        let pf = address("0000:3b:00.0")
        XCTAssertEqual(snapshot.interfaces(of: pf).map(\.name), ["ens1f0_0", "ens1f0_1", "ens1f0np0"])
        XCTAssertEqual(snapshot.interfaces(of: pf).map(\.isRepresentor), [true, true, false])
        XCTAssertEqual(snapshot.pfName(of: pf), "ens1f0np0")
        XCTAssertEqual(snapshot.interfaces(of: address("0000:3b:00.2")).map(\.name), ["ens1f0v0"])
        XCTAssertEqual(snapshot.interfaces(of: address("0000:3b:00.3")).map(\.name), ["ens1f0v1"])
        XCTAssertEqual(snapshot.device(at: address("0000:3b:00.3"))?.virtualFunctionOf?.index, 1)
        XCTAssertEqual(snapshot.device(at: address("0000:3b:00.3"))?.virtualFunctionOf?.pf, pf)
    }

    func testSoftRoCEOnABridgeBelongsToNoPCIFunction() throws {
        let tree = try EdgeCaseFixtures.softRoCE()
        let snapshot = scan(tree)
        let dev = tree.devPath
        XCTAssertEqual(snapshot.rdmaDevices.map(\.name), ["rxe0", "rxe1"])
        XCTAssertEqual(snapshot.rdmaDevices.map(\.pciAddress), [nil, nil])
        XCTAssertEqual(snapshot.rdmaDevices.map(\.netdevs), [["enp1s0v0"], ["br0"]])
        XCTAssertEqual(snapshot.rdmaDevices.map(\.characterDevices), [
            RDMACharacterDevices(uverbs: dev + "/infiniband/uverbs0", rdmaCM: dev + "/infiniband/rdma_cm"),
            RDMACharacterDevices(uverbs: dev + "/infiniband/uverbs1", rdmaCM: dev + "/infiniband/rdma_cm"),
        ])
        let bridge = try XCTUnwrap(snapshot.networkInterfaces.first { $0.name == "br0" })
        XCTAssertNil(bridge.pciAddress)
        XCTAssertNil(bridge.auxiliaryDevice)
        XCTAssertEqual(snapshot.rdmaDevices(of: address("0000:01:10.0")).map(\.name), ["rxe0"])
        XCTAssertEqual(snapshot.rdmaDevices(of: address("0000:01:00.0")).map(\.name), [])
    }

    func testVFWhoseNetdevIsInAnotherNamespaceIsDiscoveredAndFlagged() throws {
        let snapshot = scan(try EdgeCaseFixtures.netdevInOtherNamespace())
        let vfs = ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"].map(address)
        XCTAssertEqual(snapshot.virtualFunctions.map(\.address), vfs)
        XCTAssertEqual(snapshot.virtualFunctions.map(\.vfIndex), [0, 1, 2, 3])
        XCTAssertEqual(snapshot.virtualFunctions.map(\.driver), ["igbvf", "igbvf", "igbvf", "vfio-pci"])
        XCTAssertEqual(vfs.map { snapshot.interfaces(of: $0).map(\.name) }, [["enp1s0v0"], [], [], []])
        // Hidden: the two igbvf VFs without a netdev here; vfio-pci makes none.
        XCTAssertEqual(snapshot.virtualFunctions.map { snapshot.netdevNotVisible($0) }, [false, true, true, false])
        XCTAssertEqual(snapshot.pfName(of: address("0000:01:00.0")), "enp1s0")
    }
}
