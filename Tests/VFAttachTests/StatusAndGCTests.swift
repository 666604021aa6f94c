import CNI
import Foundation
import NetnsTestSupport
@testable import VFAttach
import XCTest

final class StatusAndGCTests: XCTestCase {
    var rig: CNIRig!

    override func setUpWithError() throws { rig = try CNIRig(vfs: 2) }
    override func tearDown() { rig.tearDown() }

    func testGCDetachesOnlyAttachmentsTheRuntimeNoLongerLists() throws {
        let before = try rig.snapshot()
        try rig.add(rig.config(version: "1.1.0", vf: 0, ipam: false), containerID: "keep", ifname: "net1")
        try rig.add(rig.config(version: "1.1.0", vf: 1, ipam: false), containerID: "drop", ifname: "net2")
        let gc = rig.config(version: "1.1.0", ipam: false, [("cni.dev/valid-attachments", .array([
            .object([("containerID", .string("keep")), ("ifname", .string("net1"))]),
        ]))])
        try rig.plugin().garbageCollect(rig.call(.gc, gc))
        XCTAssertNotNil(try rig.podLink("net1"))
        XCTAssertNil(try rig.podLink("net2"))
        XCTAssertNotNil(try rig.hostLink("vf1"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: rig.stateDir + "/attachments/keep-net1.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: rig.stateDir + "/attachments/drop-net2.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: rig.stateDir + "/allocations/0000:00:0a.1.json"))
        try rig.delete(rig.config(version: "1.1.0", vf: 0, ipam: false), containerID: "keep", ifname: "net1")
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testGCLeavesOtherNetworksAlone() throws {
        try rig.add(rig.config(version: "1.1.0", vf: 0, ipam: false))
        var gc = rig.config(version: "1.1.0", ipam: false, [("cni.dev/valid-attachments", .array([]))])
        gc.set("name", .string("another-net"))
        try rig.plugin().garbageCollect(rig.call(.gc, gc))
        XCTAssertNotNil(try rig.podLink("net1"))
    }

    func testSTATUSIsReadyWithAUsableStateDirectory() throws {
        try rig.plugin().status(rig.call(.status, rig.config(version: "1.1.0", ipam: false)))
    }

    func testSTATUSIsNotAvailableWhenTheStateDirectoryIsUnusable() throws {
        let blocker = rig.work.appendingPathComponent("blocker").path
        try "".write(toFile: blocker, atomically: true, encoding: .utf8)
        let config = rig.config(version: "1.1.0", ipam: false, [("stateDir", .string(blocker + "/state"))])
        XCTAssertThrowsError(try rig.plugin().status(rig.call(.status, config))) { error in
            XCTAssertEqual(cniErrorCode(error), 50)
        }
    }
}
