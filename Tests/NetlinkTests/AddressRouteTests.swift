import Foundation
import Netlink
import NetnsTestSupport
import XCTest

final class AddressRouteTests: XCTestCase {
    var scratch: ScratchNamespace!

    override func setUpWithError() throws {
        scratch = try ScratchNamespace("addr")
        try scratch.ip("link", "add", "name", "va", "type", "veth", "peer", "name", "vb")
        try scratch.ip("link", "set", "va", "up")
        try scratch.ip("link", "set", "vb", "up")
    }

    override func tearDown() { scratch.remove() }

    func testAddressesAndRoutesAreAddedAndListed() throws {
        let netlink = try RouteNetlink(in: NetworkNamespace.open(path: scratch.path))
        let link = try XCTUnwrap(try netlink.link(named: "va"))
        let v4 = try XCTUnwrap(IPPrefix("10.56.1.2/24"))
        let v6 = try XCTUnwrap(IPPrefix("fd00:56::2/64"))
        try netlink.addAddress(v4, index: link.index, device: "va")
        try netlink.addAddress(v6, index: link.index, device: "va")
        let listed = try netlink.addresses(index: link.index).map(\.prefix)
        XCTAssertTrue(listed.contains(v4), "\(listed)")
        XCTAssertTrue(listed.contains(v6), "\(listed)")

        try netlink.addRoute(RouteInfo(destination: XCTUnwrap(IPPrefix("10.57.0.0/16")), gateway: IPAddress("10.56.1.1")),
                             index: link.index, device: "va")
        try netlink.addRoute(RouteInfo(destination: XCTUnwrap(IPPrefix("0.0.0.0/0")), gateway: IPAddress("10.56.1.1"),
                                       priority: 100, mtu: 1400),
                             index: link.index, device: "va")
        try netlink.addRoute(RouteInfo(destination: XCTUnwrap(IPPrefix("fd00:57::/48")), gateway: IPAddress("fd00:56::1")),
                             index: link.index, device: "va")
        try netlink.addRoute(RouteInfo(destination: XCTUnwrap(IPPrefix("10.58.0.0/16")), table: 1000),
                             index: link.index, device: "va")
        let routes = try netlink.routes(index: link.index)
        let byDestination = Dictionary(routes.map { ($0.destination.description, $0) }, uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(byDestination["10.57.0.0/16"]?.gateway, IPAddress("10.56.1.1"))
        XCTAssertEqual(byDestination["0.0.0.0/0"]?.priority, 100)
        XCTAssertEqual(byDestination["0.0.0.0/0"]?.mtu, 1400)
        XCTAssertEqual(byDestination["fd00:57::/48"]?.gateway, IPAddress("fd00:56::1"))
        XCTAssertEqual(byDestination["10.58.0.0/16"]?.table, 1000)
        XCTAssertEqual(byDestination["10.58.0.0/16"]?.scope, 253)  // RT_SCOPE_LINK: no gateway
        // The kernel's own prefix route for the address is listed too.
        XCTAssertNotNil(byDestination["10.56.1.0/24"])
        XCTAssertTrue(try scratch.ip("route", "show").contains("10.57.0.0/16 via 10.56.1.1 dev va"))

        try netlink.deleteAddress(v4, index: link.index, device: "va")
        XCTAssertFalse(try netlink.addresses(index: link.index).map(\.prefix).contains(v4))
    }

    func testDuplicateAddressIsRefusedWithEEXIST() throws {
        let netlink = try RouteNetlink(in: NetworkNamespace.open(path: scratch.path))
        let link = try XCTUnwrap(try netlink.link(named: "va"))
        let v4 = try XCTUnwrap(IPPrefix("10.56.1.2/24"))
        try netlink.addAddress(v4, index: link.index, device: "va")
        XCTAssertThrowsError(try netlink.addAddress(v4, index: link.index, device: "va")) { error in
            XCTAssertEqual((error as! NetlinkError).errno, EEXIST)
            XCTAssertEqual((error as! NetlinkError).operation, "add address 10.56.1.2/24")
        }
    }

    func testIPTextParsing() {
        XCTAssertEqual(IPPrefix("10.56.1.2/24")?.network.description, "10.56.1.0/24")
        XCTAssertEqual(IPPrefix("fd00:56::2/64")?.network.description, "fd00:56::/64")
        XCTAssertEqual(IPPrefix("10.56.1.2/21")?.network.description, "10.56.0.0/21")
        XCTAssertNil(IPPrefix("10.56.1.2"))
        XCTAssertNil(IPPrefix("10.56.1.2/33"))
        XCTAssertNil(IPPrefix("10.56.1.300/24"))
        XCTAssertNil(IPAddress("fd00::1::2"))
        XCTAssertTrue(IPPrefix("10.56.0.0/16")!.contains(IPAddress("10.56.9.9")!))
        XCTAssertFalse(IPPrefix("10.56.0.0/16")!.contains(IPAddress("10.57.0.1")!))
    }
}
