@testable import CNI
import JSONValue
import XCTest

/// The skeleton around a plugin that records what it was asked.
final class SkeletonTests: XCTestCase {
    final class RecordingPlugin: CNIPlugin {
        var calls: [String] = []
        var failure: Error?
        func add(_ call: CNICall) throws -> CNIResult {
            calls.append("ADD \(call.environment.ifname)")
            if let failure { throw failure }
            return CNIResult(interfaces: [CNIResult.Interface(name: call.environment.ifname)],
                             ips: [CNIResult.IPConfig(address: "10.0.0.2/24", interface: 0)])
        }
        func delete(_ call: CNICall) throws { calls.append("DEL"); if let failure { throw failure } }
        func check(_ call: CNICall) throws { calls.append("CHECK") }
        func status(_ call: CNICall) throws { calls.append("STATUS") }
        func garbageCollect(_ call: CNICall) throws { calls.append("GC") }
    }

    let environment = ["CNI_CONTAINERID": "c", "CNI_NETNS": "/var/run/netns/p", "CNI_IFNAME": "net1", "CNI_PATH": "/usr/lib/cni"]

    func run(_ command: String, _ config: String, plugin: RecordingPlugin = RecordingPlugin()) -> CNISkeleton.Output {
        var variables = environment
        variables["CNI_COMMAND"] = command
        variables["CNI_ARGS"] = ""
        return CNISkeleton.run(plugin, variables: variables, stdin: Array(config.utf8))
    }

    func conf(_ version: String) -> String { #"{"cniVersion":""# + version + #"","name":"n","type":"sriov-rdma","logLevel":"error"}"# }

    func testVERSIONEchoesTheVersionAndListsSupported() {
        let output = run("VERSION", #"{"cniVersion":"0.4.0"}"#)
        XCTAssertEqual(output, CNISkeleton.Output(
            stdout: #"{"cniVersion":"0.4.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"# + "\n", exitCode: 0))
        XCTAssertEqual(run("VERSION", "").stdout,
                       #"{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"# + "\n")
    }

    func testADDPrintsTheResultInTheConfigVersion() throws {
        let plugin = RecordingPlugin()
        let output = run("ADD", conf("0.3.1"), plugin: plugin)
        XCTAssertEqual(output.exitCode, 0)
        XCTAssertEqual(try JSON.parse(output.stdout).serialized,
                       #"{"cniVersion":"0.3.1","interfaces":[{"name":"net1"}],"ips":[{"version":"4","interface":0,"address":"10.0.0.2/24"}],"dns":{}}"#)
        XCTAssertEqual(plugin.calls, ["ADD net1"])
    }

    func testErrorsGoToStdoutAsJSONWithTheConfigVersion() throws {
        let plugin = RecordingPlugin()
        plugin.failure = CNIError(.deviceBusy, "busy", details: "why")
        let output = run("ADD", conf("1.0.0"), plugin: plugin)
        XCTAssertEqual(output.exitCode, 1)
        XCTAssertEqual(try JSON.parse(output.stdout).serialized, #"{"cniVersion":"1.0.0","code":100,"msg":"busy","details":"why"}"#)

        plugin.failure = CocoaLikeError()
        XCTAssertEqual(try JSON.parse(run("DEL", conf("1.0.0"), plugin: plugin).stdout)["code"], JSON(999))
    }

    struct CocoaLikeError: Error {}

    struct KnowsItsCode: CNIErrorConvertible {
        var cniError: CNIError { CNIError(.rdmaIsolationFailed, "cannot isolate", details: "shared mode") }
    }

    func testAnErrorThatKnowsItsCNIErrorIsReportedAsThat() throws {
        let plugin = RecordingPlugin()
        plugin.failure = KnowsItsCode()
        let output = run("ADD", conf("1.0.0"), plugin: plugin)
        XCTAssertEqual(output.exitCode, 1)
        XCTAssertEqual(try JSON.parse(output.stdout).serialized,
                       #"{"cniVersion":"1.0.0","code":103,"msg":"cannot isolate","details":"shared mode"}"#)
    }

    func testCommandsNeedTheirMinimumVersion() throws {
        let plugin = RecordingPlugin()
        for (command, version) in [("CHECK", "0.3.1"), ("STATUS", "1.0.0"), ("GC", "0.4.0")] {
            let output = run(command, conf(version), plugin: plugin)
            XCTAssertEqual(output.exitCode, 1, command)
            XCTAssertEqual(try JSON.parse(output.stdout)["code"], JSON(1), command)
        }
        XCTAssertEqual(plugin.calls, [])
        for (command, version) in [("CHECK", "0.4.0"), ("STATUS", "1.1.0"), ("GC", "1.1.0"), ("DEL", "0.3.0")] {
            XCTAssertEqual(run(command, conf(version), plugin: plugin).exitCode, 0, command)
        }
        XCTAssertEqual(plugin.calls, ["CHECK", "STATUS", "GC", "DEL"])
    }

    func testEnvironmentErrorsComeBeforeTheConfigIsRead() throws {
        let output = CNISkeleton.run(RecordingPlugin(), variables: ["CNI_COMMAND": "ADD"], stdin: Array("garbage".utf8))
        XCTAssertEqual(try JSON.parse(output.stdout)["code"], JSON(4))
        XCTAssertEqual(try JSON.parse(run("ADD", "garbage").stdout)["code"], JSON(6))
    }
}
