import Foundation
import HostDevices
@testable import ResourcePools
import SysfsFixtures
import XCTest

final class AllocationTests: XCTestCase {
    var node: SRIOVNodeFixture!
    var snapshot: HostSnapshot!

    override func setUpWithError() throws {
        node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath))
    }

    private func pools(_ json: String) throws -> [ResourcePool] {
        PoolAssignment(config: try PoolsConfig.parse(Data(json.utf8)), snapshot: snapshot).pools
    }

    func testRDMAVFAllocationEnvInfoDeviceSpecsAndDeviceInfoFile() throws {
        let pool = try pools("""
            {"resourceList": [{"resourceName": "mlnx_rdma", "resourcePrefix": "nvidia.com",
              "selectors": {"vendors": ["15b3"], "isRdma": true}, "additionalInfo": {"*": {"k": "all"}, "0000:10:01.1": {"k": "mine"}}}]}
            """)[0]
        let allocation = try pool.allocation(ids: ["0000:10:01.1", "0000:10:01.2"], snapshot: snapshot,
                                             options: AllocationOptions(deviceInfoDirectory: "/run/devinfo/dp"))
        let dev = node.tree.devPath
        XCTAssertEqual(allocation.envs["PCIDEVICE_NVIDIA_COM_MLNX_RDMA"], "0000:10:01.1,0000:10:01.2")
        XCTAssertEqual(allocation.envs["PCIDEVICE_NVIDIA_COM_MLNX_RDMA_INFO"], #"{"0000:10:01.1":{"extra":{"k":"mine"},"generic":{"deviceID":"0000:10:01.1"},"rdma":{"issm":"/dev/infiniband/issm2","rdma_cm":"/dev/infiniband/rdma_cm","rdma_dev":"mlx5_2","umad":"/dev/infiniband/umad2","uverbs":"/dev/infiniband/uverbs2"}},"0000:10:01.2":{"extra":{"k":"all"},"generic":{"deviceID":"0000:10:01.2"},"rdma":{"issm":"/dev/infiniband/issm3","rdma_cm":"/dev/infiniband/rdma_cm","rdma_dev":"mlx5_3","umad":"/dev/infiniband/umad3","uverbs":"/dev/infiniband/uverbs3"}}}"#)
        // rdma_cm is shared: listed once.
        XCTAssertEqual(allocation.devices, [
            DeviceNodeSpec(containerPath: "/dev/infiniband/issm2", hostPath: "/dev/infiniband/issm2"),
            DeviceNodeSpec(containerPath: "/dev/infiniband/umad2", hostPath: "/dev/infiniband/umad2"),
            DeviceNodeSpec(containerPath: "/dev/infiniband/uverbs2", hostPath: "/dev/infiniband/uverbs2"),
            DeviceNodeSpec(containerPath: "/dev/infiniband/rdma_cm", hostPath: "/dev/infiniband/rdma_cm"),
            DeviceNodeSpec(containerPath: "/dev/infiniband/issm3", hostPath: "/dev/infiniband/issm3"),
            DeviceNodeSpec(containerPath: "/dev/infiniband/umad3", hostPath: "/dev/infiniband/umad3"),
            DeviceNodeSpec(containerPath: "/dev/infiniband/uverbs3", hostPath: "/dev/infiniband/uverbs3"),
        ])
        XCTAssertEqual(allocation.deviceInfoFiles.map { [$0.path, $0.contents] }, [
            ["/run/devinfo/dp/nvidia.com-mlnx_rdma-0000:10:01.1-device.json",
             #"{"pci":{"pci-address":"0000:10:01.1","rdma-device":"mlx5_2"},"type":"pci","version":"1.1.0"}"#],
            ["/run/devinfo/dp/nvidia.com-mlnx_rdma-0000:10:01.2-device.json",
             #"{"pci":{"pci-address":"0000:10:01.2","rdma-device":"mlx5_3"},"type":"pci","version":"1.1.0"}"#],
        ])
    }

    func testVFIOAllocationGivesContainerAndGroupNodes() throws {
        let pool = try pools(#"{"resourceList": [{"resourceName": "dpdk-vf", "selectors": {"drivers": ["vfio-pci"], "needVhostNet": true}}]}"#)[0]
        XCTAssertEqual(pool.devices.map(\.id), ["0000:10:01.3", "0000:11:01.3"])
        let allocation = try pool.allocation(ids: ["0000:10:01.3", "0000:11:01.3"], snapshot: snapshot)
        let dev = node.tree.devPath
        XCTAssertEqual(allocation.devices, [
            DeviceNodeSpec(containerPath: "/dev/vfio/vfio", hostPath: "/dev/vfio/vfio"),
            DeviceNodeSpec(containerPath: "/dev/vfio/100", hostPath: "/dev/vfio/100"),
            DeviceNodeSpec(containerPath: "/dev/vhost-net", hostPath: "/dev/vhost-net"),
            DeviceNodeSpec(containerPath: "/dev/net/tun", hostPath: "/dev/net/tun"),
            DeviceNodeSpec(containerPath: "/dev/vfio/101", hostPath: "/dev/vfio/101"),
        ])
        // A hyphen stays in the variable name, as in SRIOV-DP.
        XCTAssertEqual(allocation.envs["PCIDEVICE_INTEL_COM_DPDK-VF"], "0000:10:01.3,0000:11:01.3")
        XCTAssertEqual(allocation.envs["PCIDEVICE_INTEL_COM_DPDK-VF_INFO"], #"{"0000:10:01.3":{"generic":{"deviceID":"0000:10:01.3"},"vfio":{"dev-mount":"/dev/vfio/100","mount":"/dev/vfio/vfio"},"vhost":{"net-mount":"/dev/vhost-net","tun-mount":"/dev/net/tun"}},"0000:11:01.3":{"generic":{"deviceID":"0000:11:01.3"},"vfio":{"dev-mount":"/dev/vfio/101","mount":"/dev/vfio/vfio"},"vhost":{"net-mount":"/dev/vhost-net","tun-mount":"/dev/net/tun"}}}"#)
    }

    func testCDIModeNamesDevicesByPoolKindSoPoolsNeverCollide() throws {
        let both = try pools("""
            {"resourceList": [{"resourceName": "a", "selectors": {"rootDevices": ["0000:10:00.0"]}},
                              {"resourceName": "b", "selectors": {"rootDevices": ["0000:11:00.0"]}}]}
            """)
        let first = try both[0].allocation(ids: ["0000:10:01.0"], snapshot: snapshot, options: AllocationOptions(useCDI: true))
        let second = try both[1].allocation(ids: ["0000:11:01.0"], snapshot: snapshot, options: AllocationOptions(useCDI: true))
        XCTAssertEqual(first.cdiDevices, ["intel.com/a=0000:10:01.0"])
        XCTAssertEqual(second.cdiDevices, ["intel.com/b=0000:11:01.0"])
        XCTAssertEqual(first.devices, [])
        XCTAssertEqual(first.annotations, [:])
    }

    func testSharedRDMASlotGivesEveryCharDevice() throws {
        let pool = try pools(#"{"resourceList": [{"resourceName": "shared", "rdmaHcaMax": 10, "selectors": {"rdmaDevices": ["mlx5_0", "mlx5_1"]}}]}"#)[0]
        let allocation = try pool.allocation(ids: ["7"], snapshot: snapshot)
        XCTAssertEqual(allocation.devices.map(\.containerPath), [
            "/dev/infiniband/issm0", "/dev/infiniband/umad0", "/dev/infiniband/uverbs0", "/dev/infiniband/rdma_cm",
            "/dev/infiniband/issm1", "/dev/infiniband/umad1", "/dev/infiniband/uverbs1",
        ])
        XCTAssertEqual(allocation.envs, [:])
        XCTAssertEqual(allocation.deviceInfoFiles, [])
    }

    func testSharedRDMASlotsInCDIModeNameOneCDIDeviceForTheSameNodes() throws {
        let pool = try pools(#"{"resourceList": [{"resourceName": "shared", "rdmaHcaMax": 10, "selectors": {"rdmaDevices": ["mlx5_0", "mlx5_1"]}}]}"#)[0]
        let cdi = try pool.allocation(ids: ["3", "7"], snapshot: snapshot, options: AllocationOptions(useCDI: true))
        XCTAssertEqual(cdi.cdiDevices, ["rdma/shared=3"])
        XCTAssertEqual(cdi.devices, [])
        // Without CDI the same two slots give each node once.
        let nodes = try pool.allocation(ids: ["3", "7"], snapshot: snapshot)
        XCTAssertEqual(nodes.devices.count, 7)
    }

    func testUnknownDeviceIsAnError() throws {
        let pool = try pools(#"{"resourceList": [{"resourceName": "a", "selectors": {"rootDevices": ["0000:10:00.0"]}}]}"#)[0]
        XCTAssertThrowsError(try pool.allocation(ids: ["0000:11:01.0"], snapshot: snapshot)) { error in
            XCTAssertEqual("\(error)", "device \"0000:11:01.0\" is not in pool intel.com/a")
        }
    }

    // MARK: Preferred allocation

    func testPreferredAllocationKeepsOneNUMANodeThenSpreadsOverPFs() throws {
        let big = try SRIOVNodeFixture(pfs: 4, vfsPerPF: 3, rdma: false)
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: big.tree.path, devRoot: big.tree.devPath))
        let json = #"{"resourceList": [{"resourceName": "vfs", "selectors": {"drivers": ["mlx5_core", "iavf"]}}]}"#
        let pool = PoolAssignment(config: try PoolsConfig.parse(Data(json.utf8)), snapshot: snapshot).pools[0]
        let available = pool.devices.map(\.id)
        // PFs 0 and 2 are NUMA 0, PFs 1 and 3 NUMA 1; a must-include device on PF 3 pins NUMA 1.
        XCTAssertEqual(pool.preferredAllocation(available: available, mustInclude: ["0000:13:01.1"], size: 3),
                       ["0000:13:01.1", "0000:11:01.0", "0000:11:01.1"])
        XCTAssertEqual(pool.preferredAllocation(available: available, mustInclude: [], size: 4),
                       ["0000:10:01.0", "0000:12:01.0", "0000:10:01.1", "0000:12:01.1"])
        // Same inputs, same answer.
        XCTAssertEqual(pool.preferredAllocation(available: available.reversed(), mustInclude: [], size: 4),
                       pool.preferredAllocation(available: available, mustInclude: [], size: 4))
    }

    func testPackPolicyFillsOnePFFirst() throws {
        let json = #"{"resourceList": [{"resourceName": "vfs", "allocationPolicy": "pack", "selectors": {"vendors": ["15b3", "8086"], "drivers": ["mlx5_core", "iavf"]}}]}"#
        let pool = PoolAssignment(config: try PoolsConfig.parse(Data(json.utf8)), snapshot: snapshot).pools[0]
        XCTAssertEqual(pool.preferredAllocation(available: pool.devices.map(\.id), mustInclude: [], size: 3),
                       ["0000:10:01.0", "0000:10:01.1", "0000:10:01.2"])
    }

    // MARK: Health

    func testHealthFollowsPFCarrierDriverAndRDMAPort() throws {
        let pool = try pools(#"{"resourceList": [{"resourceName": "vfs", "selectors": {"vendors": ["15b3"], "drivers": ["mlx5_core"]}}]}"#)[0]
        XCTAssertEqual(Set(pool.health(in: snapshot).values), [.healthy])

        try node.tree.write("devices/pci0000:00/0000:00:01.0/0000:10:01.0/infiniband/mlx5_1/ports/1/state", "1: DOWN")
        try FileManager.default.removeItem(atPath: node.tree.path + "/devices/pci0000:00/0000:00:01.0/0000:10:01.1/driver")
        var health = pool.health(in: HostSnapshot.scan(roots: snapshot.roots))
        XCTAssertEqual(health["0000:10:01.0"], .unhealthy("RDMA device mlx5_1 port not ACTIVE"))
        XCTAssertEqual(health["0000:10:01.1"], .unhealthy("driver changed from mlx5_core to none"))
        XCTAssertEqual(health["0000:10:01.2"], .healthy)

        try node.tree.write("devices/pci0000:00/0000:00:01.0/0000:10:00.0/net/ens0f0/carrier", "0")
        health = pool.health(in: HostSnapshot.scan(roots: snapshot.roots))
        XCTAssertEqual(health["0000:10:01.2"], .unhealthy("PF ens0f0 has no carrier"))
    }
}

final class CDISpecTests: XCTestCase {
    func testSpecHasOneDeviceForEachPoolDeviceWithItsNodesAndEnvironment() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath))
        let config = try PoolsConfig.parse(Data(#"{"resourceList": [{"resourceName": "dpdk", "selectors": {"drivers": ["vfio-pci"]}}]}"#.utf8))
        let pool = PoolAssignment(config: config, snapshot: snapshot).pools[0]
        XCTAssertEqual(pool.cdiSpecFileName, "sriov-rdma_intel.com_dpdk.json")
        let spec = pool.cdiSpec(snapshot: snapshot)
        XCTAssertEqual(spec["cdiVersion"]?.stringValue, "0.6.0")
        XCTAssertEqual(spec["kind"]?.stringValue, "intel.com/dpdk")
        let devices = try XCTUnwrap(spec["devices"]?.arrayValue)
        XCTAssertEqual(devices.compactMap { $0["name"]?.stringValue }, pool.devices.map(\.id))
        let first = try XCTUnwrap(devices.first)
        let allocation = try pool.allocation(ids: [pool.devices[0].id], snapshot: snapshot)
        XCTAssertEqual(first["containerEdits"]?["deviceNodes"]?.arrayValue?.compactMap { $0["path"]?.stringValue },
                       allocation.devices.map(\.containerPath))
        XCTAssertEqual(first["containerEdits"]?["env"]?.arrayValue?.compactMap(\.stringValue),
                       allocation.envs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
    }

    func testAllocationRefusesAnUnhealthyDeviceWithItsReason() throws {
        let node = try SRIOVNodeFixture(pfs: 1, vfsPerPF: 2)
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath))
        let pool = PoolAssignment(config: try PoolsConfig.parse(Data(#"{"resourceList": [{"resourceName": "a"}]}"#.utf8)), snapshot: snapshot).pools[0]
        let id = pool.devices[0].id
        XCTAssertThrowsError(try pool.allocation(ids: [id], snapshot: snapshot, health: [id: .unhealthy("PF down")])) {
            XCTAssertEqual($0 as? AllocationError, .unhealthyDevice(id: id, pool: "intel.com/a", reason: "PF down"))
            XCTAssertEqual("\($0)", "device \"\(id)\" of intel.com/a is unhealthy: PF down")
        }
        XCTAssertNoThrow(try pool.allocation(ids: [id], snapshot: snapshot, health: [id: .healthy]))
    }
}
