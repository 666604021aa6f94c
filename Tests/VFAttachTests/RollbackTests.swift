import CNI
import Foundation
import JSONValue
import NetnsTestSupport
@testable import VFAttach
import XCTest

/// A failure after any ADD step leaves the host exactly as it was: links (names,
/// MACs, MTUs, flags, aliases, namespaces), addresses, routes, our state and the
/// addresses IPAM holds. Failures come from the real kernel where one is easy to
/// provoke, and are injected after every step otherwise.
final class RollbackTests: XCTestCase {
    var rig: CNIRig!

    override func setUpWithError() throws { rig = try CNIRig() }
    override func tearDown() { rig.tearDown() }

    var config: JSON { rig.config([("mac", .string("02:56:00:00:00:11")), ("mtu", JSON(9000))]) }

    func testAFailureAfterEveryStepLeavesTheHostUnchanged() throws {
        // Which steps run for this device (a stand-in without a PF skips the VF steps).
        var reached: [ADDStep] = []
        try rig.add(config, faultInjection: { reached.append($0) })
        try rig.delete(config)
        XCTAssertEqual(reached, [.lock, .allocate, .recordState, .linkDown, .netdevMAC, .moveRDMA, .removeStaleAltNames,
                                 .moveToPodNetns, .setMTU, .linkUp, .ipam, .configureIP, .persistState])

        let before = try rig.snapshot()
        for step in reached {
            XCTAssertThrowsError(try rig.add(config, faultInjection: { current in
                if current == step { throw InjectedFailure(step: step.rawValue) }
            }), "\(step)") { error in
                XCTAssertEqual((error as? CNIError)?.message, "injected failure after \(step.rawValue)", "\(step)")
            }
            XCTAssertEqual(try rig.snapshot(), before, "after a failure at \(step)")
        }
        // And the VF still works afterwards.
        try rig.add(config)
        try rig.delete(config)
        XCTAssertEqual(try rig.snapshot(), before)
    }

    func testAKernelRefusalLateInADDRollsBackEverythingAndNamesTheReason() throws {
        let before = try rig.snapshot()
        // host-local hands out a route through a gateway that is not on the link: the
        // kernel refuses it after the move, the MTU, the MAC and the IPAM allocation.
        let config = rig.config([("mac", .string("02:56:00:00:00:11")), ("mtu", JSON(9000)), ("ipam", .object([
            ("type", .string("host-local")), ("subnet", .string("10.56.0.0/24")), ("dataDir", .string(rig.ipamDir)),
            ("routes", .array([.object([("dst", .string("10.57.0.0/16")), ("gw", .string("10.99.0.1"))])])),
        ]))])
        XCTAssertThrowsError(try rig.add(config)) { error in
            let error = error as! CNIError
            XCTAssertEqual(error.code, 101)
            XCTAssertTrue(error.message.hasPrefix("add route 10.57.0.0/16 via 10.99.0.1 on net1 in /var/run/netns/"), error.message)
            XCTAssertTrue(error.message.contains("failed: ENETUNREACH (Network is unreachable)"), error.message)
        }
        XCTAssertEqual(try rig.snapshot(), before)
        XCTAssertEqual(rig.ipamAllocations(), [])
    }

    func testAnIPAMFailureRollsBackEverything() throws {
        try rig.addStandIn(1)
        // A /30 has one address to give once the gateway took the other.
        let ipam = JSON.object([("type", .string("host-local")), ("subnet", .string("10.58.0.0/30")), ("dataDir", .string(rig.ipamDir))])
        try rig.add(rig.config(vf: 0, [("ipam", ipam)]), containerID: "c0", ifname: "net0")
        let before = try rig.snapshot()
        XCTAssertThrowsError(try rig.add(rig.config(vf: 1, [("ipam", ipam), ("mtu", JSON(9000))]), containerID: "c1", ifname: "net1")) { error in
            let error = error as! CNIError
            XCTAssertTrue(error.message.hasPrefix("host-local ADD: "), error.message)
        }
        XCTAssertEqual(try rig.snapshot(), before)
    }
}
