@testable import CNI
import Foundation
import XCTest

/// Delegation to real plugin binaries (Debian's host-local, and small scripts that
/// fail the way plugins fail), and the state directory.
final class DelegateAndStateTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("cni-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: work) }

    func environment(_ path: [String]) throws -> CNIEnvironment {
        try CNIEnvironment.parse(["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/var/run/netns/none",
                                  "CNI_IFNAME": "net1", "CNI_PATH": path.joined(separator: ":")])
    }

    func config(_ ipam: String) throws -> NetworkConfig {
        try NetworkConfig.parse(Array((#"{"cniVersion":"1.0.0","name":"dnet","type":"sriov-rdma","ipam":"# + ipam + "}").utf8))
    }

    func testHostLocalGetsTheWholeConfigAndItsResultReadsBack() throws {
        let config = try config(#"{"type":"host-local","subnet":"10.60.0.0/24","dataDir":""# + work.path + #""}"#)
        let ipam = try PluginDelegate(type: "host-local", environment: environment(["/nonexistent", "/usr/lib/cni"]))
        XCTAssertEqual(ipam.executable, "/usr/lib/cni/host-local")
        let result = try ipam.add(config)
        XCTAssertEqual(result.ips, [CNIResult.IPConfig(address: "10.60.0.2/24", gateway: "10.60.0.1")])
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.path + "/dnet/10.60.0.2"))
        try ipam.delete(config)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.path + "/dnet/10.60.0.2"))
        XCTAssertEqual(try ipam.supportedVersions(asking: "1.0.0").map(\.description), ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"])
    }

    func testAMissingPluginIsAConfigError() throws {
        XCTAssertThrowsError(try PluginDelegate(type: "no-such-ipam", environment: environment(["/usr/lib/cni"]))) { error in
            XCTAssertEqual((error as! CNIError).code, 7)
            XCTAssertEqual((error as! CNIError).message, #"failed to find plugin "no-such-ipam" in path [/usr/lib/cni]"#)
        }
    }

    func script(_ name: String, _ body: String) throws {
        let path = work.appendingPathComponent(name).path
        try ("#!/bin/sh\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    func testADelegateErrorKeepsItsCodeAndNamesThePlugin() throws {
        try script("fails-json", #"cat >/dev/null; echo '{"cniVersion":"1.0.0","code":11,"msg":"try later","details":"d"}'; exit 1"#)
        let delegate = try PluginDelegate(type: "fails-json", environment: environment([work.path]))
        XCTAssertThrowsError(try delegate.add(config(#"{"type":"fails-json"}"#))) { error in
            XCTAssertEqual(error as? CNIError, CNIError(code: 11, message: "fails-json ADD: try later", details: "d"))
        }
    }

    func testADelegateThatOnlyWritesStderrIsWrapped() throws {
        try script("fails-text", "cat >/dev/null; echo 'something broke' >&2; exit 3")
        let delegate = try PluginDelegate(type: "fails-text", environment: environment([work.path]))
        XCTAssertThrowsError(try delegate.delete(config(#"{"type":"fails-text"}"#))) { error in
            XCTAssertEqual(error as? CNIError, CNIError(.ipamFailed, "fails-text DEL exited with status 3", details: "something broke"))
        }
    }

    func testTheDelegateSeesTheCommandAndOurStdinVerbatim() throws {
        try script("echoes", #"stdin=$(cat); printf '{"cniVersion":"1.0.0","ips":[{"address":"10.9.9.9/32"}],"dns":{"domain":"%s %s"}}' "$CNI_COMMAND" "$CNI_IFNAME"; printf '%s' "$stdin" > "$(dirname "$0")/stdin.seen""#)
        let config = try config(#"{"type":"echoes","extra":[1,2]}"#)
        let result = try PluginDelegate(type: "echoes", environment: environment([work.path])).add(config)
        XCTAssertEqual(result.dns.domain, "ADD net1")
        XCTAssertEqual(try Data(contentsOf: work.appendingPathComponent("stdin.seen")), Data(config.raw))
    }

    func testALargeConfigIsFedWithoutDeadlock() throws {
        try script("big", #"cat > /dev/null; head -c 200000 /dev/zero | tr '\0' 'x' >&2; echo '{"cniVersion":"1.0.0"}'"#)
        let filler = String(repeating: "y", count: 300_000)
        let config = try config(#"{"type":"big","filler":""# + filler + #""}"#)
        XCTAssertEqual(try PluginDelegate(type: "big", environment: environment([work.path])).add(config), CNIResult())
    }

    func testStateRecordsAreWrittenReadAndRemoved() throws {
        let state = StateDirectory(path: work.path + "/state")
        try state.prepare(["attachments"])
        XCTAssertNil(try state.read("attachments/a.json"))
        try state.write("attachments/a.json", .object([("k", .string("v"))]))
        XCTAssertEqual(try state.read("attachments/a.json"), .object([("k", .string("v"))]))
        XCTAssertEqual(state.list("attachments", suffix: ".json"), ["a.json"])
        try state.remove("attachments/a.json")
        try state.remove("attachments/a.json")
        XCTAssertEqual(state.list("attachments", suffix: ".json"), [])
        try "{bad".write(toFile: work.path + "/state/attachments/b.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try state.read("attachments/b.json")) { error in
            XCTAssertEqual((error as! CNIError).code, 105)
        }
    }

    /// A call killed between writing a record's temporary and renaming it leaves the
    /// temporary; the next call removes it, and never the temporary of a live call.
    func testTemporariesOfEndedCallsAreRemovedAndThoseOfLiveOnesKept() throws {
        let state = StateDirectory(path: work.path + "/state")
        try state.prepare(["attachments", "allocations"])
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = "allocations/0000:00:0a.0.json.tmp\(ended.processIdentifier).Ab12Cd"
        let live = "attachments/c1-net1.json.tmp\(getpid()).Ef34Gh"
        for name in [dead, live] { FileManager.default.createFile(atPath: work.path + "/state/" + name, contents: Data("{".utf8)) }
        let log = work.path + "/log"
        let logger = try CNILogger.configured(by: .object([("logFile", .string(log))]))
        XCTAssertEqual(state.removeAbandonedTemporaries(in: ["attachments", "allocations"], logger: logger),
                       [work.path + "/state/" + dead])
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.path + "/state/" + dead))
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.path + "/state/" + live))
        XCTAssertTrue(try String(contentsOfFile: log, encoding: .utf8).contains("removed \(work.path)/state/\(dead), left by a call that has ended"))
    }

    /// No mkdir per call: a record or lock whose directory is missing makes it (0700).
    func testWriteAndLockMakeTheirDirectoriesWhenMissing() throws {
        let state = StateDirectory(path: work.path + "/fresh/state")
        try state.write("attachments/c1-net1.json", .object([("phase", .string("adding"))]))
        XCTAssertEqual(try state.read("attachments/c1-net1.json")?["phase"], .string("adding"))
        let lock = try state.lock("locks/0000:00:0a.0.lock", timeout: .seconds(1), purpose: "test")
        XCTAssertTrue(FileManager.default.fileExists(atPath: lock.path))
        for directory in ["fresh/state", "fresh/state/attachments", "fresh/state/locks"] {
            let mode = try FileManager.default.attributesOfItem(atPath: work.path + "/" + directory)[.posixPermissions] as? Int
            XCTAssertEqual(mode, 0o700, directory)
        }
        // A path that cannot be a directory still fails, naming the file.
        XCTAssertTrue(FileManager.default.createFile(atPath: work.path + "/plain", contents: Data()))
        XCTAssertThrowsError(try StateDirectory(path: work.path + "/plain").write("a/b.json", .null)) { error in
            XCTAssertTrue("\(error)".contains("plain"), "\(error)")
        }
    }

    func testALockHeldElsewhereTimesOutAsTryAgainLater() throws {
        let state = StateDirectory(path: work.path)
        do {
            let held = try state.lock("vf.lock", timeout: .seconds(1), purpose: "VF x")
            let started = Date()
            XCTAssertThrowsError(try state.lock("vf.lock", timeout: .milliseconds(200), purpose: "VF x")) { error in
                XCTAssertEqual((error as! CNIError).code, 11)
                XCTAssertEqual((error as! CNIError).message, "timed out after 0.2 s waiting for the lock on VF x")
            }
            XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.2)
            withExtendedLifetime(held) {}
        }
        // Released with its object.
        _ = try state.lock("vf.lock", timeout: .milliseconds(200), purpose: "VF x")
    }
}
