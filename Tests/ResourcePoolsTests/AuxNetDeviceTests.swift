import Foundation
import HostDevices
@testable import ResourcePools
import SysfsFixtures
import XCTest

/// `deviceType: auxNetDevice` on EdgeCaseFixtures.scalableFunctions: SFs
/// mlx5_core.sf.2 (sfnum 1, RDMA mlx5_2) and mlx5_core.sf.3 (sfnum 2, RDMA mlx5_3)
/// on PF 0000:08:00.0 (ens8f0np0), mlx5_core.sf.4 (sfnum 7, no RDMA) on PF
/// 0000:08:00.1 (ens8f1np1), and two auxiliary devices that are no SF.
final class AuxNetDeviceTests: XCTestCase {
    var tree: SysfsFixture!
    var snapshot: HostSnapshot!

    override func setUpWithError() throws {
        tree = try EdgeCaseFixtures.scalableFunctions()
        snapshot = scan()
    }

    private func scan(detail: ScanDetail = .all) -> HostSnapshot {
        HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path, devRoot: tree.devPath), detail: detail)
    }

    private func assignment(_ json: String, explained: Bool = true, in snapshot: HostSnapshot? = nil) throws -> PoolAssignment {
        PoolAssignment(config: try PoolsConfig.parse(Data(json.utf8)), snapshot: snapshot ?? self.snapshot, explained: explained)
    }

    private func ids(_ json: String) throws -> [String] {
        try assignment(json).pools[0].devices.map(\.id)
    }

    func testDiscoveryFindsSFsWithTheirNetdevsAndRDMADevices() throws {
        for snapshot in [snapshot!, scan(detail: .forPools)] {
            XCTAssertEqual(snapshot.auxiliaryDevices, [
                AuxiliaryDevice(name: "mlx5_core.eth.0", parentAddress: PCIAddress("0000:08:00.0")!, sfNumber: nil),
                AuxiliaryDevice(name: "mlx5_core.rdma.0", parentAddress: PCIAddress("0000:08:00.0")!, sfNumber: nil),
                AuxiliaryDevice(name: "mlx5_core.sf.2", parentAddress: PCIAddress("0000:08:00.0")!, sfNumber: 1),
                AuxiliaryDevice(name: "mlx5_core.sf.3", parentAddress: PCIAddress("0000:08:00.0")!, sfNumber: 2),
                AuxiliaryDevice(name: "mlx5_core.sf.4", parentAddress: PCIAddress("0000:08:00.1")!, sfNumber: 7),
            ])
            XCTAssertEqual(snapshot.interfaces(ofAuxiliary: "mlx5_core.sf.2").map(\.name), ["enp8s0f0s1"])
            XCTAssertEqual(snapshot.rdmaDevices(ofAuxiliary: "mlx5_core.sf.2").map(\.name), ["mlx5_2"])
            XCTAssertEqual(snapshot.rdmaDevices(ofAuxiliary: "mlx5_core.sf.2").first?.characterDevices.uverbs, tree.devPath + "/infiniband/uverbs1")
            XCTAssertEqual(snapshot.rdmaDevices(ofAuxiliary: "mlx5_core.sf.4"), [])
            // The PF keeps its own netdev and RDMA device; an SF's are not the PF's.
            let pf = PCIAddress("0000:08:00.0")!
            XCTAssertEqual(snapshot.pfName(of: pf), "ens8f0np0")
            XCTAssertEqual(snapshot.rdmaDevices(of: pf).map(\.name), ["mlx5_0"])
            XCTAssertFalse(snapshot.interfaces(of: pf).contains { $0.name.hasPrefix("enp8s0f0s") })
        }
        XCTAssertEqual(AuxiliaryDevice(name: "mlx5_core.sf.2", parentAddress: PCIAddress("0000:08:00.0")!, sfNumber: 1).type, "sf")
    }

    func testSelectorsCompareThePFAndCountSFNumbers() throws {
        func pool(_ selectors: String) -> String {
            #"{"resourceList": [{"resourceName": "sf", "deviceType": "auxNetDevice", "selectors": \#(selectors)}]}"#
        }
        let all = ["mlx5_core.sf.2", "mlx5_core.sf.3", "mlx5_core.sf.4"]
        XCTAssertEqual(try ids(pool(#"{"auxTypes": ["sf"]}"#)), all)
        XCTAssertEqual(try ids(pool("{}")), all, "auxTypes left out: every SF")
        XCTAssertEqual(try ids(pool(#"{"vendors": ["15b3"], "devices": ["101d"], "drivers": ["mlx5_core"]}"#)), all)
        XCTAssertEqual(try ids(pool(#"{"drivers": ["ice"]}"#)), [])
        XCTAssertEqual(try ids(pool(#"{"pfNames": ["ens8f0np0#1"]}"#)), ["mlx5_core.sf.2"])
        XCTAssertEqual(try ids(pool(#"{"pfNames": ["ENS8F0NP0#2-7", "ens8f1np1#7"]}"#)), ["mlx5_core.sf.3", "mlx5_core.sf.4"])
        XCTAssertEqual(try ids(pool(#"{"rootDevices": ["0000:08:00.1"]}"#)), ["mlx5_core.sf.4"])
        XCTAssertEqual(try ids(pool(#"{"isRdma": true}"#)), ["mlx5_core.sf.2", "mlx5_core.sf.3"])
        XCTAssertEqual(try ids(pool(#"{"isRdma": false, "linkTypes": ["ether"]}"#)), ["mlx5_core.sf.4"])
        XCTAssertEqual(try ids(pool(#"[{"pfNames": ["ens8f1np1"]}, {"pfNames": ["ens8f0np0#2"]}]"#)), ["mlx5_core.sf.3", "mlx5_core.sf.4"])
    }

    func testPoolDevicesAndLeftOutSFs() throws {
        let result = try assignment("""
            {"resourceList": [
              {"resourceName": "sf_rdma", "resourcePrefix": "nvidia.com", "deviceType": "auxNetDevice",
               "selectors": {"auxTypes": ["sf"], "pfNames": ["ens8f0np0#1"], "isRdma": true}},
              {"resourceName": "pf", "selectors": {"vendors": ["15b3"]}}
            ]}
            """)
        XCTAssertEqual(result.pools[0].devices, [
            PoolDevice(id: "mlx5_core.sf.2", pciAddress: nil, numaNode: 0, pfAddress: PCIAddress("0000:08:00.0"), driver: "mlx5_core",
                       netdevs: ["enp8s0f0s1"], rdmaDevices: ["mlx5_2"], auxiliaryDevice: "mlx5_core.sf.2"),
        ])
        // The PFs themselves are netDevice candidates as before.
        XCTAssertEqual(result.pools[1].devices.map(\.id), ["0000:08:00.0", "0000:08:00.1"])
        XCTAssertEqual(result.excluded, [
            ExcludedDevice(address: PCIAddress("0000:08:00.0")!, auxiliaryDevice: "mlx5_core.sf.3",
                           reasons: ["nvidia.com/sf_rdma: PF ens8f0np0#2 not in pfNames"]),
            ExcludedDevice(address: PCIAddress("0000:08:00.1")!, auxiliaryDevice: "mlx5_core.sf.4",
                           reasons: ["nvidia.com/sf_rdma: PF ens8f1np1#7 not in pfNames"]),
        ])
        XCTAssertEqual(try assignment(#"{"resourceList": [{"resourceName": "pf"}]}"#).excluded, [], "no SF is reported without an SF pool")
        let daemon = try assignment(#"{"resourceList": [{"resourceName": "sf", "deviceType": "auxNetDevice"}]}"#, explained: false,
                                    in: scan(detail: .forPools))
        XCTAssertEqual(daemon.pools[0].devices.map(\.id), ["mlx5_core.sf.2", "mlx5_core.sf.3", "mlx5_core.sf.4"])
    }

    func testAllocateHandsOutTheSFsRDMADevicesAndNoDeviceInfoFile() throws {
        let pool = try assignment("""
            {"resourceList": [{"resourceName": "sf_rdma", "resourcePrefix": "nvidia.com", "deviceType": "auxNetDevice",
              "selectors": {"isRdma": true},
              "additionalInfo": {"*": {"k": "all", "site": "a"}, "0000:08:00.0": {"k": "pf0", "pf": "0"}, "mlx5_core.sf.3": {"k": "v"}}}]}
            """).pools[0]
        let allocation = try pool.allocation(ids: ["mlx5_core.sf.2", "mlx5_core.sf.3"], snapshot: snapshot,
                                             options: AllocationOptions(deviceInfoDirectory: "/run/devinfo/dp"))
        XCTAssertEqual(allocation.envs["PCIDEVICE_NVIDIA_COM_SF_RDMA"], "mlx5_core.sf.2,mlx5_core.sf.3")
        XCTAssertEqual(allocation.envs["PCIDEVICE_NVIDIA_COM_SF_RDMA_INFO"],
                       #"{"mlx5_core.sf.2":{"extra":{"k":"pf0","pf":"0","site":"a"},"generic":{"deviceID":"mlx5_core.sf.2"},"rdma":{"issm":"/dev/infiniband/issm1","rdma_dev":"mlx5_2","umad":"/dev/infiniband/umad1","uverbs":"/dev/infiniband/uverbs1"}},"#
                       + #""mlx5_core.sf.3":{"extra":{"k":"v","pf":"0","site":"a"},"generic":{"deviceID":"mlx5_core.sf.3"},"rdma":{"issm":"/dev/infiniband/issm2","rdma_dev":"mlx5_3","umad":"/dev/infiniband/umad2","uverbs":"/dev/infiniband/uverbs2"}}}"#)
        XCTAssertEqual(allocation.devices.map(\.containerPath), ["/dev/infiniband/issm1", "/dev/infiniband/umad1", "/dev/infiniband/uverbs1",
                                                                 "/dev/infiniband/issm2", "/dev/infiniband/umad2", "/dev/infiniband/uverbs2"])
        XCTAssertEqual(allocation.deviceInfoFiles, [])
        XCTAssertEqual(pool.preferredAllocation(available: ["mlx5_core.sf.3", "mlx5_core.sf.2"], mustInclude: [], size: 1), ["mlx5_core.sf.2"])
        let cdi = try pool.allocation(ids: ["mlx5_core.sf.2"], snapshot: snapshot, options: AllocationOptions(useCDI: true))
        XCTAssertEqual(cdi.cdiDevices, ["nvidia.com/sf_rdma=mlx5_core.sf.2"])
    }

    func testHealthFollowsTheSFItsPFAndItsRDMAPort() throws {
        let pool = try assignment(#"{"resourceList": [{"resourceName": "sf", "deviceType": "auxNetDevice"}]}"#).pools[0]
        XCTAssertEqual(pool.health(in: snapshot), ["mlx5_core.sf.2": .healthy, "mlx5_core.sf.3": .healthy, "mlx5_core.sf.4": .healthy])
        let pf0 = tree.root.appendingPathComponent("devices/pci0000:00/0000:08:00.0")
        try FileManager.default.removeItem(at: pf0.appendingPathComponent("mlx5_core.sf.3"))
        try "1: DOWN\n".write(to: pf0.appendingPathComponent("mlx5_core.sf.2/infiniband/mlx5_2/ports/1/state"), atomically: true, encoding: .utf8)
        try "down\n".write(to: tree.root.appendingPathComponent("devices/pci0000:00/0000:08:00.1/net/ens8f1np1/operstate"),
                           atomically: true, encoding: .utf8)
        XCTAssertEqual(pool.health(in: scan(detail: .forPools)), [
            "mlx5_core.sf.2": .unhealthy("RDMA device mlx5_2 port not ACTIVE"),
            "mlx5_core.sf.3": .unhealthy("scalable function mlx5_core.sf.3 is gone"),
            "mlx5_core.sf.4": .unhealthy("PF ens8f1np1 has no carrier"),
        ])
    }
}
