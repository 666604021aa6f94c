import Foundation
import HostDevices
@testable import ResourcePools
import SysfsFixtures
import XCTest

/// Pool membership and left-out reasons on the hand-made edge-case nodes.
final class EdgeCasePoolTests: XCTestCase {
    private func assign(_ tree: SysfsFixture, _ json: String) throws -> PoolAssignment {
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path, devRoot: tree.devPath))
        return PoolAssignment(config: try PoolsConfig.parse(Data(json.utf8)), snapshot: snapshot)
    }

    private func reasons(_ result: PoolAssignment, _ address: String) -> [String]? {
        result.excluded.first { $0.address == PCIAddress(address) }?.reasons
    }

    /// SRIOV-DP compares `pkeys/0` as a string, so its README's `0x1` never matches the
    /// `0x0001` sysfs prints; here both spellings name the same 16-bit P_Key, and the
    /// membership bit still tells `0x8001` from `0x0001`.
    func testPKeysSelectsByPortOnePKeyIndexZero() throws {
        let tree = try EdgeCaseFixtures.infiniBandPartitions()
        let result = try assign(tree, """
            {"resourceList": [
              {"resourceName": "p1_full", "selectors": {"pKeys": ["0x8001"]}},
              {"resourceName": "p1_limited", "selectors": {"pKeys": ["0x1"]}},
              {"resourceName": "default", "selectors": {"pKeys": ["0xFFFF", "0x7fff"], "isRdma": true}}
            ]}
            """)
        XCTAssertEqual(result.pools.map { $0.devices.map(\.id) }, [["0000:5e:00.3"], ["0000:5e:00.4"], ["0000:5e:00.2"]])
        XCTAssertEqual(result.pools[0].devices.map(\.rdmaDevices), [["mlx5_2"]])
        XCTAssertEqual(result.pools[0].devices.map(\.netdevs), [["ibp94s0v1"]])
        XCTAssertEqual(result.excluded.map(\.address), [PCIAddress("0000:5e:00.0")!])
    }

    func testPKeyMismatchSaysWhichKeyTheDeviceHas() throws {
        let tree = try EdgeCaseFixtures.infiniBandPartitions()
        let result = try assign(tree, #"{"resourceList": [{"resourceName": "p2", "selectors": {"pKeys": ["0x8002"]}}]}"#)
        XCTAssertEqual(result.pools[0].devices, [])
        XCTAssertEqual(reasons(result, "0000:5e:00.3"), [#"intel.com/p2: pkey 0x8001 not in pKeys ["0x8002"]"#])
        XCTAssertEqual(reasons(result, "0000:5e:00.4"), [#"intel.com/p2: pkey 0x0001 not in pKeys ["0x8002"]"#])
    }

    /// A RoCE port's `0xffff` is no partition: SRIOV-DP reads the P_Key only for
    /// infiniband links, so `pKeys` never selects a RoCE function.
    func testPKeysNeverSelectsRoCEOrFunctionsWithoutRDMA() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        let result = try assign(node.tree, #"{"resourceList": [{"resourceName": "ib", "selectors": {"pKeys": ["0xffff"]}}]}"#)
        XCTAssertEqual(result.pools[0].devices, [])
        XCTAssertEqual(reasons(result, "0000:10:01.0"),
                       [#"intel.com/ib: mlx5_1 port 1 is Ethernet, not InfiniBand, so no pkey for pKeys ["0xffff"]"#])
        XCTAssertEqual(reasons(result, "0000:11:01.0"), [#"intel.com/ib: no RDMA device of its own, so no pkey for pKeys ["0xffff"]"#])
    }

    func testInvalidPKeyIsAConfigError() {
        XCTAssertThrowsError(try PoolsConfig.parse(Data(#"{"resourceList": [{"resourceName": "a", "selectors": {"pKeys": ["0x10000"]}}]}"#.utf8))) {
            XCTAssertEqual("\($0)", #"config: resource "a": selectors.pKeys: "0x10000" is not a 16-bit hex P_Key such as "0x8001""#)
        }
    }

    func testUnboundFunctionIsLeftOutWithAReasonAndNUMAMinusOneGivesNoTopology() throws {
        let tree = try EdgeCaseFixtures.unboundAndNoNUMA()
        let result = try assign(tree, #"{"resourceList": [{"resourceName": "i350", "selectors": {"vendors": ["8086"]}}]}"#)
        XCTAssertEqual(result.pools[0].devices.map(\.id), ["0000:02:00.0"])
        XCTAssertEqual(result.pools[0].devices.map(\.numaNode), [nil])
        XCTAssertEqual(result.pools[0].devices.map(\.netdevs), [["enp2s0f0"]])
        XCTAssertEqual(reasons(result, "0000:02:00.1"),
                       ["no driver bound: a container could use neither a netdev nor vfio/uio (bind one, e.g. vfio-pci)"])
    }

    func testRepresentorsAreNotVFNetdevsAndDoNotNameThePF() throws {
        let tree = try EdgeCaseFixtures.switchdevRepresentors()
        let result = try assign(tree, """
            {"resourceList": [
              {"resourceName": "vf1", "selectors": {"pfNames": ["ens1f0np0#1"]}},
              {"resourceName": "rest", "selectors": {"rootDevices": ["0000:3b:00.0"]}},
              {"resourceName": "by_rep_name", "selectors": {"pfNames": ["ens1f0_0"]}}
            ]}
            """)
        XCTAssertEqual(result.pools.map { $0.devices.map(\.id) }, [["0000:3b:00.3"], ["0000:3b:00.2"], []])
        XCTAssertEqual(result.pools.map { $0.devices.map(\.netdevs) }, [[["ens1f0v1"]], [["ens1f0v0"]], []])
        XCTAssertEqual(reasons(result, "0000:3b:00.0"), ["PF with 2 VFs enabled: its VFs are the allocatable devices"])
    }

    func testSoftRoCEOnABridgeIsInNoPool() throws {
        let tree = try EdgeCaseFixtures.softRoCE()
        let result = try assign(tree, """
            {"resourceList": [
              {"resourceName": "rdma_vf", "selectors": {"isRdma": true}},
              {"resourceName": "shared", "rdmaHcaMax": 2, "selectors": {"vendors": ["8086"]}}
            ]}
            """)
        XCTAssertEqual(result.pools[0].devices.map(\.id), ["0000:01:10.0"])
        XCTAssertEqual(result.pools[0].devices.map(\.rdmaDevices), [["rxe0"]])
        XCTAssertEqual(result.pools[1].sharedRDMADevices.map(\.name), ["rxe0"])
        XCTAssertEqual(result.pools[1].devices.map(\.rdmaDevices), [["rxe0"], ["rxe0"]])
    }

    /// The VF stays allocatable by PCI address; a selector that needs its netdev
    /// says the netdev is not visible here rather than that it has none.
    func testVFWithNetdevInAnotherNamespaceIsPooledByAddress() throws {
        let tree = try EdgeCaseFixtures.netdevInOtherNamespace()
        let result = try assign(tree, """
            {"resourceList": [
              {"resourceName": "ether", "selectors": {"linkTypes": ["ether"], "drivers": ["igbvf"]}},
              {"resourceName": "by_address", "selectors": {"pciAddresses": ["0000:01:10.2", "0000:01:10.4"]}}
            ]}
            """)
        XCTAssertEqual(result.pools.map { $0.devices.map(\.id) }, [["0000:01:10.0"], ["0000:01:10.2", "0000:01:10.4"]])
        XCTAssertEqual(result.pools[1].devices.map(\.netdevs), [[], []])
        XCTAssertEqual(result.pools[1].devices.map(\.pfAddress), [PCIAddress("0000:01:00.0"), PCIAddress("0000:01:00.0")])
        XCTAssertEqual(reasons(result, "0000:01:10.6"), [
            #"intel.com/ether: driver vfio-pci not in drivers ["igbvf"]"#,
            "intel.com/by_address: 0000:01:10.6 not in pciAddresses",
        ])
        let ether = try assign(tree, #"{"resourceList": [{"resourceName": "ether", "selectors": {"linkTypes": ["ether"]}}]}"#)
        XCTAssertEqual(reasons(ether, "0000:01:10.2"),
                       [#"intel.com/ether: link type unknown (no netdev visible in this network namespace): linkTypes ["ether"]"#])
        XCTAssertEqual(reasons(ether, "0000:01:10.6"), [#"intel.com/ether: link type unknown (no netdev): linkTypes ["ether"]"#])
    }
}
