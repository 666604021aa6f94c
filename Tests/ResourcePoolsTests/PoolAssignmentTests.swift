import Foundation
import HostDevices
@testable import ResourcePools
import SysfsFixtures
import XCTest

/// Pools over a generated node: PF 0 (0000:10:00.0, ens0f0) is a ConnectX with RDMA
/// on NUMA 0, PF 1 (0000:11:00.0, ens1f0) an E810 on NUMA 1; 4 VFs each, VF 3 of each
/// bound to vfio-pci.
final class PoolAssignmentTests: XCTestCase {
    var node: SRIOVNodeFixture!
    var snapshot: HostSnapshot!

    override func setUpWithError() throws {
        node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath))
    }

    private func assign(_ json: String) throws -> PoolAssignment {
        PoolAssignment(config: try PoolsConfig.parse(Data(json.utf8)), snapshot: snapshot)
    }

    /// SRIOV-DP's documented `rootDevices` form with VF ranges picks those VFs of that PF.
    func testRootDevicesWithVFRangesPickThoseVFs() throws {
        let assignment = try assign(#"{"resourceList": [{"resourceName": "some", "selectors": {"rootDevices": ["0000:10:00.0#1-2", "0000:11:00.0#0"]}}]}"#)
        XCTAssertEqual(assignment.pools[0].devices.map(\.id), ["0000:10:01.1", "0000:10:01.2", "0000:11:01.0"])
        let other = try XCTUnwrap(assignment.excluded.first { $0.address.description == "0000:10:01.3" })
        XCTAssertEqual(other.reasons, ["intel.com/some: PF 0000:10:00.0#3 not in rootDevices"])
    }

    /// The daemon's rescans read less (`.forPools`) and explain nothing; the pools
    /// they build must be the ones `discover` shows.
    func testDaemonScanBuildsTheSamePoolsAsDiscover() throws {
        let light = HostSnapshot.scan(roots: snapshot.roots, detail: .forPools)
        for json in [
            #"{"resourceList": [{"resourceName": "mlx", "selectors": {"vendors": ["15b3"], "isRdma": true, "linkTypes": ["ether"]}}]}"#,
            #"{"resourceList": [{"resourceName": "pf1", "selectors": {"pfNames": ["ens1f0#0-2"], "linkTypes": ["ether"]}}, {"resourceName": "rest", "selectors": {"drivers": ["vfio-pci", "iavf"]}}]}"#,
            #"{"resourceList": [{"resourceName": "keys", "selectors": {"pKeys": ["0xffff"]}}, {"resourceName": "roce", "deviceType": "rdmaShared", "rdmaHcaMax": 4, "selectors": {"vendors": ["15b3"]}}]}"#,
        ] {
            let config = try PoolsConfig.parse(Data(json.utf8))
            let discover = PoolAssignment(config: config, snapshot: snapshot)
            let daemon = PoolAssignment(config: config, snapshot: light, explained: false)
            // The same pools and devices; a shared pool's RDMA devices carry what each scan read.
            XCTAssertEqual(daemon.pools.map(\.config), discover.pools.map(\.config), json)
            XCTAssertEqual(daemon.pools.map(\.devices), discover.pools.map(\.devices), json)
            XCTAssertEqual(daemon.pools.map { $0.sharedRDMADevices.map(\.name) }, discover.pools.map { $0.sharedRDMADevices.map(\.name) }, json)
            XCTAssertEqual(daemon.excluded, [], json)
            XCTAssertFalse(discover.excluded.isEmpty, json)
            XCTAssertFalse(discover.excluded.flatMap(\.reasons).contains(""), json)
        }
    }

    func testFixtureShape() {
        XCTAssertEqual(node.vfAddresses[0], ["0000:10:01.0", "0000:10:01.1", "0000:10:01.2", "0000:10:01.3"])
        XCTAssertEqual(snapshot.pfName(of: PCIAddress("0000:10:00.0")!), "ens0f0")
        XCTAssertEqual(snapshot.rdmaDevices.map(\.name).sorted(), ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"])
    }

    func testSelectorsByVendorDriverAndClaimOrder() throws {
        let result = try assign("""
            {"resourceList": [
              {"resourceName": "mlx_netdev", "selectors": {"vendors": ["15b3"], "drivers": ["mlx5_core"]}},
              {"resourceName": "all_vfs", "selectors": {"devices": ["101e", "1889"]}},
              {"resourceName": "dpdk", "selectors": {"drivers": ["vfio-pci"]}}
            ]}
            """)
        XCTAssertEqual(result.pools.map { $0.devices.map(\.id) }, [
            ["0000:10:01.0", "0000:10:01.1", "0000:10:01.2"],
            ["0000:10:01.3", "0000:11:01.0", "0000:11:01.1", "0000:11:01.2", "0000:11:01.3"],
            [],
        ])
        let dpdkReasons = result.excluded.first { $0.address == PCIAddress("0000:10:00.0") }?.reasons ?? []
        XCTAssertEqual(dpdkReasons.first, "PF with 4 VFs enabled: its VFs are the allocatable devices")
    }

    func testPFNamesWithRangesAndRootDevices() throws {
        let result = try assign("""
            {"resourceList": [
              {"resourceName": "pf0_low", "selectors": {"pfNames": ["ENS0F0#0-1"]}},
              {"resourceName": "pf1_odd", "selectors": {"pfNames": ["0000:11:00.0#1,3"]}},
              {"resourceName": "pf0_rest", "selectors": {"rootDevices": ["0000:10:00.0"]}}
            ]}
            """)
        XCTAssertEqual(result.pools.map { $0.devices.map(\.id) }, [
            ["0000:10:01.0", "0000:10:01.1"], ["0000:11:01.1", "0000:11:01.3"], ["0000:10:01.2", "0000:10:01.3"],
        ])
        let reasons = result.excluded.first { $0.address == PCIAddress("0000:11:01.0") }?.reasons
        XCTAssertEqual(reasons, [
            "intel.com/pf0_low: PF ens1f0#0 not in pfNames",
            "intel.com/pf1_odd: PF ens1f0#0 not in pfNames",
            "intel.com/pf0_rest: PF 0000:11:00.0 not in rootDevices",
        ])
    }

    func testFunctionsASharedPoolUsesAreNotLeftOut() throws {
        let result = try assign("""
            {"resourceList": [
              {"resourceName": "pf0_low", "selectors": {"pfNames": ["ens0f0#0-1"]}},
              {"resourceName": "rdma_rest", "rdmaHcaMax": 4, "selectors": {"rdmaDevices": ["mlx5_3"]}}
            ]}
            """)
        XCTAssertEqual(result.pools[0].devices.map(\.id), ["0000:10:01.0", "0000:10:01.1"])
        XCTAssertEqual(result.pools[1].sharedRDMADevices.map(\.name), ["mlx5_3"])
        let leftOut = result.excluded.map(\.address.description)
        // 0000:10:01.2 carries mlx5_3, which the shared pool hands out; 0000:10:01.3 is
        // in no pool (vfio-pci, no RDMA device).
        XCTAssertFalse(leftOut.contains("0000:10:01.2"), "\(leftOut)")
        XCTAssertTrue(leftOut.contains("0000:10:01.3"), "\(leftOut)")
    }

    func testIsRdmaLinkTypeAndSelectorListIsAnOr() throws {
        let result = try assign("""
            {"resourceList": [
              {"resourceName": "rdma_vfs", "selectors": [{"isRdma": true, "linkTypes": ["ether"]}]},
              {"resourceName": "either", "selectors": [{"pciAddresses": ["0000:11:01.0"]}, {"pciAddresses": ["0000:11:01.2"]}]}
            ]}
            """)
        XCTAssertEqual(result.pools[0].devices.map(\.id), ["0000:10:01.0", "0000:10:01.1", "0000:10:01.2"])
        XCTAssertEqual(result.pools[0].devices.map(\.rdmaDevices), [["mlx5_1"], ["mlx5_2"], ["mlx5_3"]])
        XCTAssertEqual(result.pools[1].devices.map(\.id), ["0000:11:01.0", "0000:11:01.2"])
    }

    func testNUMANodeUnlessTopologyExcluded() throws {
        let result = try assign("""
            {"resourceList": [
              {"resourceName": "with", "selectors": {"pciAddresses": ["0000:11:01.0"]}},
              {"resourceName": "without", "excludeTopology": true, "selectors": {"pciAddresses": ["0000:11:01.1"]}}
            ]}
            """)
        XCTAssertEqual(result.pools.map { $0.devices.map(\.numaNode) }, [[1], [nil]])
    }

    func testSharedRDMAPoolOffersSlotsAndClaimsNothing() throws {
        let result = try assign("""
            {"resourceList": [
              {"resourceName": "vfs", "selectors": {"vendors": ["15b3"]}},
              {"resourceName": "shared", "rdmaHcaMax": 3, "selectors": {"drivers": ["mlx5_core"]}}
            ]}
            """)
        // Every ConnectX VF (the vfio one too) is claimed by the exclusive pool...
        XCTAssertEqual(result.pools[0].devices.count, 4)
        XCTAssertEqual(result.pools[1].qualifiedName, "rdma/shared")
        XCTAssertEqual(result.pools[1].devices.map(\.id), ["0", "1", "2"])
        // ...and the shared pool still offers the RDMA devices of the PF and those VFs.
        XCTAssertEqual(result.pools[1].sharedRDMADevices.map(\.name), ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"])
    }

    func testSharedRDMAPoolWithoutDevicesOffersNothing() throws {
        let result = try assign(#"{"resourceList": [{"resourceName": "none", "rdmaHcaMax": 5, "selectors": {"ifNames": ["nope"]}}]}"#)
        XCTAssertEqual(result.pools[0].devices, [])
    }
}
