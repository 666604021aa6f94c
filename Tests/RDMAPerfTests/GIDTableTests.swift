import Foundation
import XCTest
@testable import RDMAPerf

/// GID selection against fake `class/infiniband` trees shaped like rxe's: unused
/// entries are all zeros and their `types` file cannot be read.
final class GIDTableTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: root)
    }

    /// Writes `ports/<port>/gids/N`, `gid_attrs/types/N` and `gid_attrs/ndevs/N`;
    /// a nil type leaves the types file out, as for an entry the kernel refuses to describe.
    func makePort(device: String = "rxe0", port: Int = 1, entries: [(gid: String, type: String?, netdev: String?)]) throws {
        let base = root.appendingPathComponent("class/infiniband/\(device)/ports/\(port)")
        for directory in ["gids", "gid_attrs/types", "gid_attrs/ndevs"] {
            try FileManager.default.createDirectory(at: base.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        for (index, entry) in entries.enumerated() {
            try (entry.gid + "\n").write(to: base.appendingPathComponent("gids/\(index)"), atomically: true, encoding: .utf8)
            if let type = entry.type {
                try (type + "\n").write(to: base.appendingPathComponent("gid_attrs/types/\(index)"), atomically: true, encoding: .utf8)
            }
            if let netdev = entry.netdev {
                try (netdev + "\n").write(to: base.appendingPathComponent("gid_attrs/ndevs/\(index)"), atomically: true, encoding: .utf8)
            }
        }
    }

    static let zero = "0000:0000:0000:0000:0000:0000:0000:0000"
    static let linkLocal = "fe80:0000:0000:0000:0056:00ff:fe00:0800"
    static let ipv4 = "0000:0000:0000:0000:0000:ffff:0a38:0001"

    func testRXEDefaultIsTheRoCEv2IPv4GIDAtIndexOne() throws {
        try makePort(entries: [(Self.linkLocal, "RoCE v2", "enp1s0v0"), (Self.ipv4, "RoCE v2", "enp1s0v0"),
                               (Self.zero, nil, nil), (Self.zero, nil, nil)])
        let table = GIDTable.read(sysRoot: root.path, device: "rxe0", port: 1)
        XCTAssertEqual(table.entries.map(\.index), [0, 1], "zero entries are unused")
        let entry = try table.defaultEntry()
        XCTAssertEqual(entry.index, 1)
        XCTAssertEqual(entry.gid.ipv4Text, "10.56.0.1")
        XCTAssertEqual(entry.netdev, "enp1s0v0")
        XCTAssertEqual("\(entry.gid)", Self.ipv4)
    }

    func testRoCEv1EntriesAreSkippedForTheV2One() throws {
        // A mlx5-style table: v1 and v2 for each address, IPv4 v1 first.
        try makePort(entries: [(Self.linkLocal, "IB/RoCE v1", "eth0"), (Self.linkLocal, "RoCE v2", "eth0"),
                               ("0000:0000:0000:0000:0000:ffff:c0a8:0105", "IB/RoCE v1", "eth0"),
                               ("0000:0000:0000:0000:0000:ffff:c0a8:0105", "RoCE v2", "eth0")])
        let entry = try GIDTable.read(sysRoot: root.path, device: "rxe0", port: 1).defaultEntry()
        XCTAssertEqual(entry.index, 3)
        XCTAssertEqual(entry.gid.ipv4Text, "192.168.1.5")
    }

    func testNoIPv4AddressMeansNoUsableGID() throws {
        try makePort(entries: [(Self.linkLocal, "RoCE v2", "enp1s0v1"), (Self.zero, nil, nil)])
        let table = GIDTable.read(sysRoot: root.path, device: "rxe0", port: 1)
        XCTAssertThrowsError(try table.defaultEntry()) { error in
            XCTAssertEqual("\(error)", "no usable GID on rxe0 port 1: no RoCE v2 GID with an IPv4 address "
                           + "(give the netdev an IPv4 address, or pick one with --gid-index); "
                           + "it has 0: \(Self.linkLocal) (RoCE v2)")
        }
    }

    func testAnIPv4GIDWithoutAReadableTypeIsNotChosen() throws {
        try makePort(entries: [(Self.ipv4, nil, nil)])
        XCTAssertThrowsError(try GIDTable.read(sysRoot: root.path, device: "rxe0", port: 1).defaultEntry())
    }

    func testAnExplicitIndexMustBePopulated() throws {
        try makePort(entries: [(Self.linkLocal, "RoCE v2", "enp1s0v0"), (Self.ipv4, "RoCE v2", "enp1s0v0"), (Self.zero, nil, nil)])
        let table = GIDTable.read(sysRoot: root.path, device: "rxe0", port: 1)
        XCTAssertEqual(try table.entry(index: 0).gid, GID(sysfsText: Self.linkLocal))
        XCTAssertThrowsError(try table.entry(index: 2)) { error in
            XCTAssertTrue("\(error)".hasPrefix("no usable GID at index 2 on rxe0 port 1; it has 0: "), "\(error)")
        }
    }

    func testAMissingDeviceReadsAsAnEmptyTable() {
        let table = GIDTable.read(sysRoot: root.path, device: "mlx5_9", port: 1)
        XCTAssertEqual(table.entries, [])
        XCTAssertThrowsError(try table.defaultEntry()) { XCTAssertTrue("\($0)".hasSuffix("the table is empty"), "\($0)") }
    }

    func testOtherPortsAreSeparate() throws {
        try makePort(port: 1, entries: [(Self.linkLocal, "RoCE v2", "p0")])
        try makePort(port: 2, entries: [(Self.linkLocal, "RoCE v2", "p1"), (Self.ipv4, "RoCE v2", "p1")])
        XCTAssertThrowsError(try GIDTable.read(sysRoot: root.path, device: "rxe0", port: 1).defaultEntry())
        XCTAssertEqual(try GIDTable.read(sysRoot: root.path, device: "rxe0", port: 2).defaultEntry().index, 1)
    }

    func testGIDTextParsing() {
        XCTAssertNil(GID(sysfsText: "fe80::1"))
        XCTAssertNil(GID(sysfsText: "0000:0000:0000:0000:0000:ffff:0a38"))
        XCTAssertNil(GID(sysfsText: "0000:0000:0000:0000:0000:ffff:0a38:zzzz"))
        XCTAssertNil(GID(sysfsText: Self.linkLocal)?.ipv4Address)
        XCTAssertEqual(GID(sysfsText: Self.zero)?.isZero, true)
    }
}
