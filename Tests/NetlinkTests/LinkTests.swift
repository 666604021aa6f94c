import Foundation
import Netlink
import NetnsTestSupport
import XCTest

/// Link operations against the real kernel, each test in scratch namespaces with veth
/// pairs (this machine's own interfaces are never touched).
final class LinkTests: XCTestCase {
    var scratch: ScratchNamespace!

    override func setUpWithError() throws {
        scratch = try ScratchNamespace("link")
        try scratch.ip("link", "add", "name", "va", "mtu", "1400", "address", "02:56:00:00:00:0a", "type", "veth",
                       "peer", "name", "vb")
    }

    override func tearDown() { scratch.remove() }

    func netlink() throws -> RouteNetlink {
        try RouteNetlink(in: NetworkNamespace.open(path: scratch.path))
    }

    func testLinkByNameReportsNameMACMTUKindAndState() throws {
        let link = try XCTUnwrap(try netlink().link(named: "va"))
        XCTAssertEqual(link.name, "va")
        XCTAssertEqual(formatHardwareAddress(link.hardwareAddress), "02:56:00:00:00:0a")
        XCTAssertEqual(link.mtu, 1400)
        XCTAssertEqual(link.kind, "veth")
        XCTAssertFalse(link.isUp)
        XCTAssertNil(link.alias)
        XCTAssertEqual(link.altNames, [])
        XCTAssertNil(link.parentDeviceName)
        XCTAssertEqual(try netlink().link(index: link.index)?.name, "va")
    }

    func testMissingLinkIsNil() throws {
        XCTAssertNil(try netlink().link(named: "nosuch0"))
        XCTAssertNil(try netlink().link(index: 999_999))
    }

    func testLinksListsEveryLinkOfTheNamespaceOnly() throws {
        XCTAssertEqual(Set(try netlink().links().map(\.name)), ["lo", "va", "vb"])
    }

    func testSetLinkRenamesSetsMACMTUAliasAndUp() throws {
        let netlink = try netlink()
        let link = try XCTUnwrap(try netlink.link(named: "va"))
        try netlink.setLink(index: link.index, device: "va", LinkChange(name: "net1", hardwareAddress: [0x02, 0x56, 0, 0, 0, 0x0b],
                                                                      mtu: 9000, alias: "va"))
        try netlink.setLink(index: link.index, device: "net1", LinkChange(up: true))
        let changed = try XCTUnwrap(try netlink.link(index: link.index))
        XCTAssertEqual(changed.name, "net1")
        XCTAssertEqual(formatHardwareAddress(changed.hardwareAddress), "02:56:00:00:00:0b")
        XCTAssertEqual(changed.mtu, 9000)
        XCTAssertEqual(changed.alias, "va")
        XCTAssertTrue(changed.isUp)
        // What `ip` sees agrees.
        let shown = try scratch.ip("-o", "link", "show", "net1")
        XCTAssertTrue(shown.contains("mtu 9000"), shown)
        XCTAssertTrue(shown.contains("02:56:00:00:00:0b"), shown)
        XCTAssertTrue(shown.contains("alias va"), shown)

        try netlink.setLink(index: link.index, device: "net1", LinkChange(up: false, alias: ""))
        let cleared = try XCTUnwrap(try netlink.link(index: link.index))
        XCTAssertNil(cleared.alias)
        XCTAssertFalse(cleared.isUp)
    }

    func testMoveToAnotherNamespaceByDescriptor() throws {
        let other = try ScratchNamespace("dest")
        defer { other.remove() }
        let netlink = try netlink()
        let link = try XCTUnwrap(try netlink.link(named: "va"))
        try netlink.setLink(index: link.index, device: "va", LinkChange(namespace: NetworkNamespace.open(path: other.path)))
        XCTAssertNil(try netlink.link(named: "va"))
        let moved = try XCTUnwrap(try RouteNetlink(in: NetworkNamespace.open(path: other.path)).link(named: "va"))
        XCTAssertEqual(formatHardwareAddress(moved.hardwareAddress), "02:56:00:00:00:0a")
    }

    func testAltNamesAreAddedAndRemoved() throws {
        let netlink = try netlink()
        let link = try XCTUnwrap(try netlink.link(named: "va"))
        try netlink.addAltName("enp59s2f3", index: link.index, device: "va")
        try netlink.addAltName("old0", index: link.index, device: "va")
        XCTAssertEqual(try netlink.link(named: "va")?.altNames, ["enp59s2f3", "old0"])
        // The kernel finds a link by its alternative name too.
        XCTAssertEqual(try netlink.link(named: "old0")?.name, "va")
        try netlink.removeAltName("old0", index: link.index, device: "va")
        XCTAssertEqual(try netlink.link(named: "va")?.altNames, ["enp59s2f3"])
        XCTAssertTrue(try scratch.ip("-d", "link", "show", "va").contains("altname enp59s2f3"))
    }

    func testRefusalNamesOperationDeviceAndKernelReason() throws {
        let netlink = try netlink()
        let link = try XCTUnwrap(try netlink.link(named: "va"))
        XCTAssertThrowsError(try netlink.setLink(index: link.index, device: "va", LinkChange(mtu: 70000))) { error in
            let error = error as! NetlinkError
            XCTAssertEqual(error.errno, EINVAL)
            XCTAssertEqual(error.operation, "set MTU 70000")
            XCTAssertTrue(error.device.hasPrefix("va in /var/run/netns/"), error.device)
            // The kernel explains itself through the extended ack.
            XCTAssertEqual(error.kernelMessage, "mtu greater than device maximum")
            XCTAssertTrue(error.description.contains("EINVAL (Invalid argument): mtu greater than device maximum"),
                          error.description)
        }
        // Renaming onto an existing name: EEXIST.
        XCTAssertThrowsError(try netlink.setLink(index: link.index, device: "va", LinkChange(name: "vb"))) { error in
            XCTAssertEqual((error as! NetlinkError).errno, EEXIST)
        }
    }

    func testAVethHasNoVFTableAndRefusesVFSettings() throws {
        let netlink = try netlink()
        let link = try XCTUnwrap(try netlink.link(named: "va"))
        XCTAssertEqual(try netlink.virtualFunctions(ofPF: link.index, device: "va"), [])
        XCTAssertNil(link.virtualFunctionCount)
        XCTAssertThrowsError(try netlink.setVirtualFunction(ofPF: link.index, device: "va", vf: 0, .vlan(VFVLAN(id: 100)))) { error in
            let error = error as! NetlinkError
            XCTAssertEqual(error.operation, "set VF 0 vlan 100 qos 0 proto 802.1Q")
            XCTAssertTrue(error.device.hasPrefix("va (PF) in "), error.device)
            XCTAssertEqual(error.errno, EOPNOTSUPP)
        }
    }
}

/// One RTM_SETLINK that moves a link and renames it: the kernel renames it inside the
/// target namespace under the same RTNL hold, so no namespace ever sees a clash.
final class MoveAndRenameTests: XCTestCase {
    func testMoveAndRenameInOneRequestArrivesUnderTheNewName() throws {
        let source = try ScratchNamespace("src")
        let target = try ScratchNamespace("dst")
        defer { source.remove(); target.remove() }
        try source.ip("link", "add", "name", "va", "type", "veth", "peer", "name", "vb")
        // The target already has a link named like the moving one ("va") and an eth0.
        try target.ip("link", "add", "name", "va", "type", "veth", "peer", "name", "eth0")
        let netlink = try RouteNetlink(in: NetworkNamespace.open(path: source.path))
        let link = try XCTUnwrap(try netlink.link(named: "va"))
        try netlink.setLink(index: link.index, device: "va",
                            LinkChange(name: "net1", alias: "va", namespace: NetworkNamespace.open(path: target.path)))
        let arrived = try XCTUnwrap(try RouteNetlink(in: NetworkNamespace.open(path: target.path)).link(named: "net1"))
        XCTAssertEqual(arrived.alias, "va")
        XCTAssertNil(try netlink.link(named: "va"))
    }

    func testMoveAndRenameOntoATakenNameFailsWithoutMoving() throws {
        let source = try ScratchNamespace("src")
        let target = try ScratchNamespace("dst")
        defer { source.remove(); target.remove() }
        try source.ip("link", "add", "name", "va", "type", "veth", "peer", "name", "vb")
        try target.ip("link", "add", "name", "va", "type", "veth", "peer", "name", "net1")
        let netlink = try RouteNetlink(in: NetworkNamespace.open(path: source.path))
        let link = try XCTUnwrap(try netlink.link(named: "va"))
        XCTAssertThrowsError(try netlink.setLink(index: link.index, device: "va",
                                                 LinkChange(name: "net1", namespace: NetworkNamespace.open(path: target.path)))) { error in
            XCTAssertEqual((error as! NetlinkError).errno, EEXIST)
        }
        XCTAssertNotNil(try netlink.link(named: "va"), "the link stays where it was")
    }
}
