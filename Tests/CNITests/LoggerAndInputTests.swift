@testable import CNI
import Foundation
import JSONValue
import SystemSupport
import XCTest

/// stdin, as the runtime hands it: bounded, whatever is on the other end.
final class LoggerAndInputTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cnilog-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: stdin

    final class NothingPlugin: CNIPlugin {
        var called = false
        func add(_ call: CNICall) throws -> CNIResult { called = true; return CNIResult() }
        func delete(_ call: CNICall) throws { called = true }
        func check(_ call: CNICall) throws {}
        func status(_ call: CNICall) throws {}
        func garbageCollect(_ call: CNICall) throws {}
    }

    private let variables = ["CNI_CONTAINERID": "c", "CNI_NETNS": "/var/run/netns/p", "CNI_IFNAME": "net1",
                             "CNI_PATH": "/usr/lib/cni"]

    private func run(_ command: String, input bytes: [UInt8], plugin: NothingPlugin = NothingPlugin()) throws -> CNISkeleton.Output {
        let path = directory + "/stdin"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let input = try FileDescriptor.open(path, O_RDONLY)
        defer { input.close() }
        return CNISkeleton.run(plugin, variables: variables.merging(["CNI_COMMAND": command]) { $1 }, input: input)
    }

    private func config(padding: Int, logFile: String? = nil) -> [UInt8] {
        var members: [(String, JSON)] = [("cniVersion", .string("1.0.0")), ("name", .string("n")), ("type", .string("sriov-rdma")),
                                         ("logLevel", .string("error")), ("pad", .string(String(repeating: " ", count: padding)))]
        if let logFile { members.append(("logFile", .string(logFile))) }
        return Array(JSON.object(members).serialized.utf8)
    }

    func testStdinUpToTheLimitIsAConfigAndOneByteMoreIsErrorSevenWithNothingParsed() throws {
        let base = config(padding: 0).count
        let plugin = NothingPlugin()
        XCTAssertEqual(try run("ADD", input: config(padding: CNISkeleton.configSizeLimit - base), plugin: plugin).exitCode, 0)
        XCTAssertTrue(plugin.called)
        let output = try run("ADD", input: config(padding: CNISkeleton.configSizeLimit - base + 1))
        XCTAssertEqual(output.exitCode, 1)
        XCTAssertEqual(try JSON.parse(output.stdout).serialized,
                       #"{"cniVersion":"1.1.0","code":7,"msg":"the network config on stdin is larger than 1048576 bytes"}"#)
    }

    func testStdinFromAnEndlessSourceStopsAtTheLimit() throws {
        let zero = try FileDescriptor.open("/dev/zero", O_RDONLY)
        defer { zero.close() }
        let output = CNISkeleton.run(NothingPlugin(), variables: variables.merging(["CNI_COMMAND": "ADD"]) { $1 }, input: zero)
        XCTAssertEqual(try JSON.parse(output.stdout)["code"], JSON(7))
    }
}
