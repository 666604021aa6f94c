import HostDevices
import RDMAVerbs
import SysfsFixtures
import XCTest

/// Answers for the devices it is given, as libibverbs would for a device that opens,
/// and records what it was asked.
private final class AnsweringPortQuery: RDMAPortQuery {
    let answers: [String: [RDMAPort]]
    private(set) var asked: [String] = []

    init(answers: [String: [RDMAPort]]) { self.answers = answers }

    func ports(ofDevice name: String) -> [RDMAPort]? {
        asked.append(name)
        return answers[name]
    }
}

final class RDMAPortQueryTests: XCTestCase {
    /// This host's kernel has no RDMA: libibverbs lists nothing, and a name it does not
    /// list never opens.
    func testVerbsQueryAnswersNilForADeviceThatDoesNotExist() {
        let query = VerbsPortQuery()
        XCTAssertNil(query.ports(ofDevice: "no-such-rdma-device"))
        XCTAssertNil(query.ports(ofDevice: ""))
    }

    /// A PF (mlx5_0) and its VF (mlx5_1), each with an ACTIVE RoCE port in sysfs. The
    /// query opens only mlx5_1, whose port it reports down with two GIDs.
    private func scanWithVF1Answering() throws -> (HostSnapshot, AnsweringPortQuery, SRIOVNodeFixture) {
        let node = try SRIOVNodeFixture(pfs: 1, vfsPerPF: 1)
        try node.tree.write("class/infiniband/mlx5_0/ports/1/phys_state", "5: LinkUp")
        try node.tree.write("class/infiniband/mlx5_0/ports/1/gid_attrs/types/0", "IB/RoCE v1")
        let query = AnsweringPortQuery(answers: ["mlx5_1": [RDMAPort(
            number: 1, state: 1, stateName: "DOWN", linkLayer: "Ethernet",
            gids: [0: "fe80:0000:0000:0000:0242:00ff:fe00:0000", 1: "0000:0000:0000:0000:0000:ffff:0a38:0001"],
            physicalStateName: "Disabled", activeMTU: 1024, gidTypes: [0: "RoCE v1", 1: "RoCE v2"], source: .verbs)]])
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath), readGIDs: true,
                                         portQuery: query)
        return (snapshot, query, node)
    }

    func testPortsOfADeviceThatOpensComeFromTheQuery() throws {
        let (snapshot, query, _) = try scanWithVF1Answering()
        XCTAssertEqual(query.asked, ["mlx5_0", "mlx5_1"])
        let vf = try XCTUnwrap(snapshot.rdmaDevices.first { $0.name == "mlx5_1" })
        // State, link layer, MTU and GIDs are the query's; the P_Keys stay sysfs's.
        XCTAssertEqual(vf.ports, [RDMAPort(number: 1, state: 1, stateName: "DOWN", linkLayer: "Ethernet",
                                           gids: [0: "fe80:0000:0000:0000:0242:00ff:fe00:0000", 1: "0000:0000:0000:0000:0000:ffff:0a38:0001"],
                                           pKeys: [0: PartitionKey(rawValue: 0xffff)], physicalStateName: "Disabled", activeMTU: 1024,
                                           gidTypes: [0: "RoCE v1", 1: "RoCE v2"], source: .verbs)])
        // A port the query reports down is down for pool health, sysfs notwithstanding.
        XCTAssertFalse(vf.allPortsActive)
    }

    func testPortsOfADeviceThatDoesNotOpenStayAsSysfsHasThem() throws {
        let (snapshot, _, _) = try scanWithVF1Answering()
        let pf = try XCTUnwrap(snapshot.rdmaDevices.first { $0.name == "mlx5_0" })
        // sysfs's "IB/RoCE v1" on an Ethernet port is RoCE v1, as libibverbs would call it.
        XCTAssertEqual(pf.ports, [RDMAPort(number: 1, state: 4, stateName: "ACTIVE", linkLayer: "Ethernet",
                                           gids: [0: "fe80:0000:0000:0000:0000:0000:0000:0001"],
                                           pKeys: [0: PartitionKey(rawValue: 0xffff)], physicalStateName: "LinkUp", activeMTU: nil,
                                           gidTypes: [0: "RoCE v1"], source: .sysfs)])
        XCTAssertTrue(pf.allPortsActive)
    }

    /// With the real libibverbs and no RDMA in this kernel, every device of a fixture
    /// tree falls back to sysfs.
    func testVerbsQueryLeavesFixtureDevicesToSysfs() throws {
        try XCTSkipIf(FileManager.default.fileExists(atPath: "/sys/class/infiniband/mlx5_0"),
                      "this host has an mlx5_0 of its own, which would open")
        let node = try SRIOVNodeFixture(pfs: 1, vfsPerPF: 1)
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath), readGIDs: true,
                                         portQuery: VerbsPortQuery())
        XCTAssertEqual(snapshot.rdmaDevices.map(\.name), ["mlx5_0", "mlx5_1"])
        XCTAssertEqual(snapshot.rdmaDevices.flatMap { $0.ports.map(\.source) }, [.sysfs, .sysfs])
        XCTAssertEqual(snapshot.rdmaDevices.flatMap { $0.ports.map(\.stateName) }, ["ACTIVE", "ACTIVE"])
    }
}
