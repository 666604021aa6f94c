import Foundation
import TestSupport
import XCTest

/// sriov-rdma-dp started as the operators start the Go plugins it replaces
/// (anchors: sriov-network-operator's and network-operator's DaemonSets).
final class OperatorEntryPointTests: XCTestCase, RunsReleaseExecutables {
    private var files: ScratchDirectory?
    private var scratch: String { files!.path }

    override func setUpWithError() throws { files = try ScratchDirectory("entry") }
    override func tearDown() { files = nil }

    /// The same binary under another name, as an image installs it.
    private func installed(as name: String) throws -> String {
        let path = scratch + "/" + name
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: try binary("sriov-rdma-dp"))
        return path
    }

    /// sriov-network-operator: `--log-level=10 --resource-prefix=<prefix> --config-file=/etc/pcidp/<node> [--use-cdi]`;
    /// network-operator: `--log-dir=sriovdp --log-level=10 [--use-cdi]`. Every flag is
    /// taken: what stops this run is the missing config, logged to the --log-dir file too.
    func testSRIOVDPArgumentsAreAcceptedAndLogDirGetsTheLog() throws {
        let config = scratch + "/etc/pcidp/node-1"
        let output = try run(try installed(as: "sriovdp"), [
            "--log-level=10", "--resource-prefix=openshift.io", "--config-file=\(config)", "--use-cdi", "--log-dir=\(scratch)/logs",
            "--kubelet-dir=\(scratch)/kubelet", "--state-dir=\(scratch)/state", "--sys-root=\(scratch)",
        ])
        XCTAssertEqual(output.status, 1, output.stderr)
        XCTAssertTrue(output.stderr.contains("cannot read the config file \(config)"), output.stderr)
        let log = try String(contentsOfFile: scratch + "/logs/sriov-rdma-dp.log", encoding: .utf8)
        XCTAssertTrue(log.contains("critical sriov-rdma-dp: [sriov_rdma_dp] cannot read the config file \(config)"), log)
        // A flag the entrypoint does not know is still refused.
        let unknown = try run(try installed(as: "sriovdp-2"), ["run", "--no-such-flag"])
        XCTAssertEqual(unknown.status, 64)
    }

    func testUnderItsGoNamesItServesWithoutASubcommandAndTheirDefaultConfig() throws {
        let sriovdp = try run(try installed(as: "sriovdp"), ["--help"])
        XCTAssertTrue(sriovdp.stdout.contains("Serve the configured pools to kubelet"), sriovdp.stdout)
        XCTAssertTrue(sriovdp.stdout.contains("default: /etc/pcidp/config.json"), sriovdp.stdout)
        let shared = try installed(as: "k8s-rdma-shared-dp")
        let version = try run(shared, ["-v"])
        XCTAssertEqual(version.status, 0)
        XCTAssertFalse(version.stdout.isEmpty)
        let started = try run(shared, ["--kubelet-dir=\(scratch)/kubelet", "--state-dir=\(scratch)/state", "--sys-root=\(scratch)"])
        XCTAssertEqual(started.status, 1)
        XCTAssertTrue(started.stderr.contains("cannot read the config file /k8s-rdma-shared-dev-plugin/config.json"), started.stderr)
        // Its own name keeps its own behaviour: subcommands are needed.
        let plain = try run(try binary("sriov-rdma-dp"), [])
        XCTAssertTrue(plain.stdout.contains("SUBCOMMANDS"), plain.stdout)
    }

    func testGlogVerbositiesMapOntoLevels() throws {
        let bad = try run(try binary("sriov-rdma-dp"), ["run", "--log-level=loud"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("or a glog verbosity 0-10"), bad.stderr)
    }
}
