import HostDevices
import PCIDatabase
import SysfsFixtures
import XCTest

final class HostSnapshotTests: XCTestCase {
    /// The lab's shape: an igb PF at 0000:01:00.0 with two VFs enabled (VF stride 2),
    /// a virtio NIC whose netdev hangs off a `virtio0` bus device, and soft-RoCE on VF 0.
    private func labLikeTree() throws -> SysfsFixture {
        let tree = try SysfsFixture()
        let pf = try tree.pciFunction("0000:01:00.0", under: "0000:00:02.0", vendor: "0x8086", device: "0x10c9",
                                      classCode: "0x020000", driver: "igb", numaNode: 1)
        try tree.write("\(pf)/sriov_totalvfs", "7")
        try tree.write("\(pf)/sriov_numvfs", "2")
        try tree.netdev("enp1s0", under: pf, mtu: 1500, mac: "52:54:00:12:34:56")
        for (index, address) in [(0, "0000:01:10.0"), (1, "0000:01:10.2")] {
            let vf = try tree.pciFunction(address, under: "0000:00:02.0", vendor: "0x8086", device: "0x10ca",
                                          classCode: "0x020000", driver: "igbvf", numaNode: 1)
            try tree.link("\(pf)/virtfn\(index)", to: "../\(address)")
            try tree.link("\(vf)/physfn", to: "../0000:01:00.0")
            try tree.netdev("enp1s0v\(index)", under: vf, mtu: 1500, mac: "02:00:00:00:00:0\(index)",
                            operstate: index == 0 ? "up" : "down", carrier: index == 0 ? 1 : nil)
        }
        let virtio = try tree.pciFunction("0000:00:03.0", vendor: "0x1af4", device: "0x1041", classCode: "0x020000",
                                          driver: "virtio-pci")
        try tree.netdev("eth0", under: "\(virtio)/virtio0", mtu: 9000, mac: "02:fc:00:00:00:01")
        try tree.write("devices/virtual/infiniband/rxe0/node_type", "1: CA")
        try tree.write("devices/virtual/infiniband/rxe0/ports/1/gid_attrs/ndevs/0", "enp1s0v0")
        try tree.write("devices/virtual/infiniband/rxe0/ports/1/gid_attrs/ndevs/1", "enp1s0v0")
        try tree.link("class/infiniband/rxe0", to: "../../devices/virtual/infiniband/rxe0")
        return tree
    }

    func testPhysicalFunctionListsItsVirtualFunctionsByIndex() throws {
        let tree = try labLikeTree()
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path))
        let pf = try XCTUnwrap(snapshot.device(at: PCIAddress("0000:01:00.0")!))
        XCTAssertEqual(pf.sriov, SRIOVCapability(totalVFs: 7, enabledVFs: 2, virtualFunctions: [
            0: PCIAddress("0000:01:10.0")!, 1: PCIAddress("0000:01:10.2")!,
        ]))
        XCTAssertEqual(pf.driver, "igb")
        XCTAssertEqual(pf.numaNode, 1)
        XCTAssertEqual(snapshot.physicalFunctions.map(\.address), [PCIAddress("0000:01:00.0")!])
    }

    func testVirtualFunctionKnowsItsPhysicalFunctionAndIndex() throws {
        let tree = try labLikeTree()
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path))
        let vf = try XCTUnwrap(snapshot.device(at: PCIAddress("0000:01:10.2")!))
        XCTAssertEqual(vf.virtualFunctionOf?.pf, PCIAddress("0000:01:00.0"))
        XCTAssertEqual(vf.virtualFunctionOf?.index, 1)
        XCTAssertEqual(vf.deviceID, 0x10ca)
        XCTAssertEqual(vf.driver, "igbvf")
        XCTAssertNil(vf.sriov)
        XCTAssertEqual(snapshot.virtualFunctions.map(\.address), [PCIAddress("0000:01:10.0")!, PCIAddress("0000:01:10.2")!])
    }

    func testNetdevsCarryStateAndTheirPCIFunction() throws {
        let tree = try labLikeTree()
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path))
        let vf1 = try XCTUnwrap(snapshot.networkInterfaces.first { $0.name == "enp1s0v1" })
        XCTAssertEqual(vf1.pciAddress, PCIAddress("0000:01:10.2"))
        XCTAssertEqual(vf1.operState, "down")
        XCTAssertNil(vf1.carrier)
        XCTAssertEqual(vf1.macAddress, MACAddress("02:00:00:00:00:01"))
        XCTAssertEqual(vf1.mtu, 1500)
        XCTAssertEqual(vf1.linkTypeName, "ether")
        XCTAssertEqual(snapshot.interfaces(of: PCIAddress("0000:01:10.0")!).map(\.name), ["enp1s0v0"])
    }

    func testNetdevBehindVirtioBusDeviceMapsToItsPCIFunction() throws {
        let tree = try labLikeTree()
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path))
        let eth0 = try XCTUnwrap(snapshot.networkInterfaces.first { $0.name == "eth0" })
        XCTAssertEqual(eth0.pciAddress, PCIAddress("0000:00:03.0"))
        XCTAssertEqual(eth0.mtu, 9000)
    }

    func testSoftRoCEDeviceHasNoPCIParentButKnowsItsNetdev() throws {
        let tree = try labLikeTree()
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path))
        XCTAssertTrue(snapshot.kernelHasRDMAClass)
        XCTAssertEqual(snapshot.rdmaDevices, [RDMADevice(name: "rxe0", pciAddress: nil, netdevs: ["enp1s0v0"], nodeType: "1: CA",
                                                         ports: [RDMAPort(number: 1, state: nil, stateName: nil, linkLayer: nil)])])
        // rxe0 rides on VF 0's netdev, so it belongs to that VF.
        XCTAssertEqual(snapshot.rdmaDevices(of: PCIAddress("0000:01:10.0")!).map(\.name), ["rxe0"])
    }

    /// Switchdev representors and SF netdevs sit beside the uplink; neither may name
    /// the PF (SRIOV-DP #383, #645), and an SF netdev does not belong to the PF at all.
    func testPFNameIgnoresRepresentorsAndScalableFunctions() throws {
        let tree = try SysfsFixture()
        let pf = try tree.pciFunction("0000:3b:00.0", vendor: "0x15b3", device: "0x101d", classCode: "0x020000", driver: "mlx5_core")
        try tree.netdev("eth0rep", under: pf, mtu: 1500, mac: "02:00:00:00:00:10", physPortName: "pf0vf0")
        try tree.netdev("ens1f0np0", under: pf, mtu: 1500, mac: "02:00:00:00:00:01", physPortName: "p0")
        try tree.netdev("en3f0pf0sf4", under: "\(pf)/mlx5_core.sf.4", mtu: 1500, mac: "02:00:00:00:00:20")
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path))
        XCTAssertEqual(snapshot.pfName(of: PCIAddress("0000:3b:00.0")!), "ens1f0np0")
        let sf = try XCTUnwrap(snapshot.networkInterfaces.first { $0.name == "en3f0pf0sf4" })
        XCTAssertNil(sf.pciAddress)
        XCTAssertEqual(sf.auxiliaryDevice, "mlx5_core.sf.4")
        XCTAssertEqual(snapshot.device(at: PCIAddress("0000:3b:00.0")!)?.auxiliaryDevices, ["mlx5_core.sf.4"])
    }

    func testCharDevicesPortsAndDeviceNodes() throws {
        let node = try SRIOVNodeFixture(pfs: 1, vfsPerPF: 4)
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath), readGIDs: true)
        let vf0 = try XCTUnwrap(snapshot.rdmaDevices.first { $0.name == "mlx5_1" })
        let dev = node.tree.devPath
        XCTAssertEqual(vf0.pciAddress, PCIAddress("0000:10:01.0"))
        XCTAssertEqual(vf0.characterDevices, RDMACharacterDevices(uverbs: dev + "/infiniband/uverbs1", umad: dev + "/infiniband/umad1",
                                                                  issm: dev + "/infiniband/issm1", rdmaCM: dev + "/infiniband/rdma_cm"))
        XCTAssertEqual(vf0.ports, [RDMAPort(number: 1, state: 4, stateName: "ACTIVE", linkLayer: "Ethernet",
                                            gids: [0: "fe80:0000:0000:0000:0000:0000:0000:0001"],
                                            pKeys: [0: PartitionKey(rawValue: 0xffff)])])
        XCTAssertTrue(vf0.allPortsActive)
        XCTAssertEqual(snapshot.deviceNodes.vfioGroups, [100: dev + "/vfio/100"])
        XCTAssertEqual(snapshot.deviceNodes.vfioContainer, dev + "/vfio/vfio")
        XCTAssertEqual(snapshot.device(at: PCIAddress("0000:10:01.3")!)?.iommuGroup, 100)
    }

    func testEmptyTreeGivesEmptySnapshotWithoutRDMAClass() throws {
        let tree = try SysfsFixture()
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path))
        XCTAssertEqual(snapshot.pciDevices, [])
        XCTAssertEqual(snapshot.networkInterfaces, [])
        XCTAssertFalse(snapshot.kernelHasRDMAClass)
    }

    func testPCINamesComeFromPciIds() throws {
        let tree = try labLikeTree()
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path), names: PCINames())
        let vf = try XCTUnwrap(snapshot.device(at: PCIAddress("0000:01:10.0")!))
        XCTAssertEqual(vf.names?.vendor, "Intel Corporation")
        XCTAssertEqual(vf.names?.device, "82576 Virtual Function")
        XCTAssertEqual(vf.names?.deviceClass, "Ethernet controller")
    }
}
