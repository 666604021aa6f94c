import CNI
import Foundation
import JSONValue
import Netlink
import NetnsTestSupport
@testable import VFAttach
import XCTest

/// ADD, DEL and CHECK against the real kernel: veth stand-ins move between scratch
/// namespaces, host-local hands out addresses.
final class AttachDetachTests: XCTestCase {
    var rig: CNIRig!

    override func setUpWithError() throws { rig = try CNIRig() }
    override func tearDown() { rig.tearDown() }

    func testADDMovesRenamesConfiguresAndReportsTheVF() throws {
        // 1.0.0: Debian's host-local (containernetworking-plugins 1.1.1) knows no newer version.
        let config = rig.config(version: "1.0.0", [("mac", .string("02:56:00:00:00:11")), ("mtu", JSON(1400))])
        let result = try rig.add(config)
        XCTAssertEqual(result.interfaces, [CNIResult.Interface(name: "net1", mac: "02:56:00:00:00:11", mtu: 1400,
                                                               sandbox: rig.pod.path, pciID: "0000:00:0a.0")])
        XCTAssertEqual(result.ips, [CNIResult.IPConfig(address: "10.56.0.2/24", gateway: "10.56.0.1", interface: 0)])
        XCTAssertEqual(result.routes, [CNIResult.Route(dst: "10.57.0.0/16")])

        let link = try XCTUnwrap(try rig.podLink())
        XCTAssertEqual(formatHardwareAddress(link.hardwareAddress), "02:56:00:00:00:11")
        XCTAssertEqual(link.mtu, 1400)
        XCTAssertTrue(link.isUp)
        XCTAssertEqual(link.alias, "vf0")  // the host name travels with the link
        XCTAssertNil(try rig.hostLink("vf0"))
        let podAddresses = try rig.pod.ip("-o", "addr", "show", "net1")
        XCTAssertTrue(podAddresses.contains("inet 10.56.0.2/24"), podAddresses)
        let podRoutes = try rig.pod.ip("route", "show")
        XCTAssertTrue(podRoutes.contains("10.57.0.0/16 via 10.56.0.1 dev net1"), podRoutes)
        XCTAssertEqual(rig.ipamAllocations(), ["10.56.0.2"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: rig.stateDir + "/attachments/cid1-net1.json"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: rig.stateDir + "/allocations/0000:00:0a.0.json"))
    }

    func testDELRestoresTheHostExactly() throws {
        try rig.host.ip("link", "set", "vf0", "alias", "uplink-a")
        let before = try rig.snapshot()
        let config = rig.config([("mac", .string("02:56:00:00:00:11")), ("mtu", JSON(9000))])
        try rig.add(config)
        XCTAssertNotEqual(try rig.snapshot(), before)
        XCTAssertEqual(try rig.podLink()?.alias, "vf0")
        try rig.delete(config)
        XCTAssertEqual(try rig.snapshot(), before)
        XCTAssertEqual(try rig.hostLink("vf0")?.alias, "uplink-a")
        XCTAssertEqual(rig.ipamAllocations(), [])
    }

    func testDELTwiceSucceeds() throws {
        let before = try rig.snapshot()
        let config = rig.config()
        try rig.add(config)
        try rig.delete(config)
        try rig.delete(config)
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testDELWithoutAnADDSucceeds() throws {
        let before = try rig.snapshot()
        try rig.delete(rig.config())
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testDELWithEmptyNetnsRestoresFromTheRecordedNetns() throws {
        let before = try rig.snapshot()
        let config = rig.config()
        try rig.add(config)
        try rig.delete(config, netns: "")
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testDELAfterThePodNetnsIsGoneSucceedsAndReleasesIPAM() throws {
        let config = rig.config()
        try rig.add(config)
        XCTAssertEqual(rig.ipamAllocations(), ["10.56.0.2"])
        // A veth dies with its namespace (a physical VF would come back as devN: the lab
        // suite covers that); DEL must still succeed and release the address.
        let path = rig.pod.path
        rig.pod.remove()
        try rig.delete(config, netns: path)
        XCTAssertEqual(rig.ipamAllocations(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: rig.stateDir + "/attachments/cid1-net1.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: rig.stateDir + "/allocations/0000:00:0a.0.json"))
    }

    func testDELWhenTheStateFileIsGoneStillReleasesIPAM() throws {
        let config = rig.config()
        try rig.add(config)
        try FileManager.default.removeItem(atPath: rig.stateDir + "/attachments/cid1-net1.json")
        try rig.delete(config)
        XCTAssertEqual(rig.ipamAllocations(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: rig.stateDir + "/allocations/0000:00:0a.0.json"))
        // A veth has no PCI parent the kernel could vouch for, so without state the
        // interface stays where it is; the lab suite returns a real VF by its PCI parent.
        XCTAssertNotNil(try rig.podLink())
    }

    func testDELWithACorruptStateFileStillSucceeds() throws {
        let config = rig.config()
        try rig.add(config)
        try "{not json".write(toFile: rig.stateDir + "/attachments/cid1-net1.json", atomically: true, encoding: .utf8)
        try rig.delete(config)
        XCTAssertEqual(rig.ipamAllocations(), [])
    }

    func testADDRefusesAnInterfaceNameThatExistsInThePod() throws {
        try rig.pod.ip("link", "add", "name", "net1", "type", "veth", "peer", "name", "other")
        let before = try rig.snapshot()
        XCTAssertThrowsError(try rig.add(rig.config())) { error in
            XCTAssertEqual(cniErrorCode(error), 101)
            XCTAssertEqual((error as? CNIError)?.message, "interface net1 already exists in \(rig.pod.path)")
        }
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testADDRefusesAVFAllocatedToALiveContainer() throws {
        try rig.add(rig.config())
        let other = try ScratchNamespace("pod2")
        defer { other.remove() }
        let before = try rig.snapshot()
        let call = try rig.call(.add, rig.config(), containerID: "cid2", netns: other.path)
        XCTAssertThrowsError(try rig.plugin().add(call)) { error in
            let error = error as! CNIError
            XCTAssertEqual(error.code, 100)
            XCTAssertEqual(error.message, "VF 0000:00:0a.0 is already allocated")
            XCTAssertEqual(error.details, "to container cid1 interface net1 in \(rig.pod.path)")
        }
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testADDTakesOverAStaleAllocationWhoseNetnsIsGone() throws {
        try FileManager.default.createDirectory(atPath: rig.stateDir + "/allocations", withIntermediateDirectories: true)
        try #"{"containerID":"old","ifname":"net1","netns":"/var/run/netns/long-gone","network":"sriov-net"}"#
            .write(toFile: rig.stateDir + "/allocations/0000:00:0a.0.json", atomically: true, encoding: .utf8)
        try rig.add(rig.config())
        let record = try String(contentsOfFile: rig.stateDir + "/allocations/0000:00:0a.0.json", encoding: .utf8)
        XCTAssertTrue(record.contains("\"containerID\": \"cid1\""), record)
    }

    func testADDWaitsForTheVFLockAndThenAsksToTryAgainLater() throws {
        let state = StateDirectory(path: rig.stateDir)
        try state.prepare(["locks"])
        let held = try state.lock("locks/0000:00:0a.0.lock", timeout: .seconds(1), purpose: "test")
        let before = try rig.snapshot()
        XCTAssertThrowsError(try rig.add(rig.config())) { error in
            XCTAssertEqual(cniErrorCode(error), 11)
        }
        XCTAssertEqual(try rig.snapshot(), before)
        withExtendedLifetime(held) {}
    }

    func testADDRemovesAStaleAltNameEqualToThePodName() throws {
        // sriov-cni#445: an alternative name left from an earlier life blocks the rename.
        try rig.host.ip("link", "property", "add", "dev", "vf0", "altname", "net1")
        try rig.add(rig.config())
        let link = try XCTUnwrap(try rig.podLink())
        XCTAssertEqual(link.name, "net1")
        XCTAssertEqual(link.altNames, [])
        try rig.delete(rig.config())
        XCTAssertEqual(try rig.hostLink("vf0")?.altNames, [])
    }

    func testDeviceIDFromRuntimeConfigAndFromTheDeviceInfoFile() throws {
        var config = rig.config()
        config.remove("deviceID")
        config.set("runtimeConfig", .object([("deviceID", .string("0000:00:0a.0"))]))
        XCTAssertEqual(try rig.add(config).interfaces.first?.pciID, "0000:00:0a.0")
        try rig.delete(config)

        let devinfo = rig.work.appendingPathComponent("devinfo.json").path
        try #"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:00:0a.0","pf-pci-address":"","rdma-device":""}}"#
            .write(toFile: devinfo, atomically: true, encoding: .utf8)
        config.set("runtimeConfig", .object([("CNIDeviceInfoFile", .string(devinfo))]))
        XCTAssertEqual(try rig.add(config).interfaces.first?.pciID, "0000:00:0a.0")
        try rig.delete(config)
    }

    func testVFSettingsOnAFunctionWithoutPFFailBeforeTouchingAnything() throws {
        let before = try rig.snapshot()
        XCTAssertThrowsError(try rig.add(rig.config([("vlan", JSON(100))]))) { error in
            XCTAssertEqual(cniErrorCode(error), 7)
            XCTAssertTrue((error as! CNIError).message.contains("is not an SR-IOV VF"), "\(error)")
        }
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testAVFWhosePFHasNoVFTableFailsBeforeTouchingAnything() throws {
        // 0000:00:0b.0 claims to be VF 0 of a PF whose netdev (a veth) has no VF table.
        try rig.host.ip("link", "add", "name", "pf0", "type", "veth", "peer", "name", "pf0peer")
        let pf = try rig.sysfs.pciFunction("0000:00:0b.0", vendor: "0x8086", device: "0x10c9", classCode: "0x020000", driver: "igb")
        try rig.sysfs.write("\(pf)/sriov_totalvfs", "7")
        try rig.sysfs.write("\(pf)/sriov_numvfs", "1")
        try rig.sysfs.netdev("pf0", under: pf, mtu: 1500, mac: "02:56:0b:00:00:00")
        let vf = try rig.sysfs.pciFunction("0000:00:0b.1", vendor: "0x8086", device: "0x10ca", classCode: "0x020000", driver: "igbvf")
        try rig.sysfs.link("\(pf)/virtfn0", to: "../0000:00:0b.1")
        try rig.sysfs.link("\(vf)/physfn", to: "../0000:00:0b.0")
        try rig.host.ip("link", "add", "name", "vfb", "type", "veth", "peer", "name", "vfbpeer")
        try rig.sysfs.netdev("vfb", under: vf, mtu: 1500, mac: "02:56:0b:00:00:01")
        let before = try rig.snapshot()
        XCTAssertThrowsError(try rig.add(rig.config([("deviceID", .string("0000:00:0b.1"))]))) { error in
            XCTAssertEqual((error as? CNIError)?.message, "PF pf0 reports no VF 0 for 0000:00:0b.1")
        }
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testCHECKRightAfterADDPassesAndDetectsDrift() throws {
        var config = rig.config(version: "1.0.0", [("mac", .string("02:56:00:00:00:11"))])
        let result = try rig.add(config)
        config.set("prevResult", result.json(version: CNIVersion(1, 0, 0)))
        try rig.check(config)

        try rig.pod.ip("addr", "del", "10.56.0.2/24", "dev", "net1")
        XCTAssertThrowsError(try rig.check(config)) { error in
            let error = error as! CNIError
            XCTAssertEqual(error.code, 104)
            XCTAssertTrue(error.details.contains("net1 lacks address 10.56.0.2/24"), error.details)
            XCTAssertTrue(error.details.contains("route 10.57.0.0/16 is missing"), error.details)
        }
        try rig.pod.ip("link", "set", "net1", "address", "02:56:00:00:00:99")
        XCTAssertThrowsError(try rig.check(config)) { error in
            XCTAssertTrue((error as! CNIError).details.contains("net1 has MAC 02:56:00:00:00:99, the config asks for 02:56:00:00:00:11"))
        }
    }

    func testCHECKNeedsPrevResultAndAnAttachment() throws {
        XCTAssertThrowsError(try rig.check(rig.config())) { error in
            XCTAssertEqual((error as? CNIError)?.message, "CHECK needs prevResult")
        }
        var config = rig.config()
        config.set("prevResult", CNIResult().json(version: CNIVersion(1, 0, 0)))
        XCTAssertThrowsError(try rig.check(config)) { error in
            XCTAssertEqual(cniErrorCode(error), 104)
        }
    }

    func testTwoVFsIntoOnePodAndBack() throws {
        try rig.addStandIn(1)
        let before = try rig.snapshot()
        // Two networks in one pod: each its own subnet (one route per destination).
        let second = rig.config(vf: 1, [("name", .string("second-net")), ("ipam", .object([
            ("type", .string("host-local")), ("subnet", .string("10.59.0.0/24")), ("dataDir", .string(rig.ipamDir)),
        ]))])
        try rig.add(rig.config(vf: 0), ifname: "net1")
        try rig.add(second, ifname: "net2")
        XCTAssertNotNil(try rig.podLink("net1"))
        XCTAssertNotNil(try rig.podLink("net2"))
        XCTAssertEqual(rig.ipamAllocations(), ["10.56.0.2"])
        try rig.delete(second, ifname: "net2")
        try rig.delete(rig.config(vf: 0), ifname: "net1")
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testIPv6AddressesAndRoutes() throws {
        let before = try rig.snapshot()
        let config = rig.config([("ipam", .object([
            ("type", .string("host-local")),
            ("ranges", .array([.array([.object([("subnet", .string("fd00:56::/64")), ("gateway", .string("fd00:56::1"))])])])),
            ("routes", .array([.object([("dst", .string("fd00:57::/48"))])])),
            ("dataDir", .string(rig.ipamDir)),
        ]))])
        let result = try rig.add(config)
        XCTAssertEqual(result.ips.first?.address, "fd00:56::2/64")
        let routes = try rig.pod.ip("-6", "route", "show")
        XCTAssertTrue(routes.contains("fd00:57::/48 via fd00:56::1 dev net1"), routes)
        try rig.delete(config)
        XCTAssertEqual(try rig.snapshot(), before)
    }
}
