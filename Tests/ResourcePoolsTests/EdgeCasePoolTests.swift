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
}
