@testable import DevicePlugin
import JSONValue
import XCTest

/// The status file between the daemon (writer) and `health` (reader), pinned from both ends.
final class DaemonStatusTests: XCTestCase {
    private let status = DaemonStatus(
        pid: 4242, updated: 1_764_000_000.5,
        pools: ["intel.com/a": .init(registered: true, streaming: true, socket: "/k/a.sock", devices: 4),
                "intel.com/b": .init(registered: true, streaming: false, socket: "/k/b.sock", devices: 0)],
        configuredPools: ["intel.com/a", "intel.com/b", "intel.com/c"])

    func testStatusRoundTripsThroughItsBytes() throws {
        let text = status.json.serialized
        XCTAssertEqual(text, #"{"configuredPools":["intel.com/a","intel.com/b","intel.com/c"],"pid":4242,"pools":{"intel.com/a":{"devices":4,"registered":true,"socket":"/k/a.sock","streaming":true},"intel.com/b":{"devices":0,"registered":true,"socket":"/k/b.sock","streaming":false}},"updated":1764000000.5}"#)
        XCTAssertEqual(DaemonStatus(json: try JSON.parse(Array(text.utf8))), status)
    }

    func testProblemsNameTheDaemonTheAgeAndEachPool() {
        XCTAssertEqual(status.problems(now: 1_764_000_100, maxAge: 30) { _ in false }, [
            "daemon pid 4242 is not running", "status is 99 s old", "intel.com/c: not serving",
            "intel.com/b: kubelet is not watching its devices",
        ])
        var healthy = status
        healthy.configuredPools = ["intel.com/a"]
        healthy.pools["intel.com/b"] = nil
        XCTAssertEqual(healthy.problems(now: 1_764_000_010, maxAge: 30) { $0 == 4242 }, [])
    }

    func testTheFileLivesWhereTheDaemonAndHealthLookForIt() {
        var configuration = DaemonConfiguration(configPath: "/etc/pcidp/config.json", resourcePrefix: "intel.com")
        configuration.stateDirectory = "/run/x"
        XCTAssertEqual(configuration.statusFile, "/run/x/sriov-rdma-dp/status.json")
        XCTAssertEqual(DaemonStatus.path(stateDirectory: "/run/x"), configuration.statusFile)
        XCTAssertNil(DaemonStatus(json: .array([])))
    }
}
