@testable import CNI
import Foundation
import JSONValue
import SystemSupport
import TestSupport
import XCTest

/// What the runtime hands the plugin besides the environment: the `logFile` path and
/// stdin. Neither may hang the call, corrupt its result or fill its memory.
final class LoggerAndInputTests: XCTestCase {
    private var files: ScratchDirectory?
    private var directory: String { files!.path }

    override func setUpWithError() throws { files = try ScratchDirectory("cnilog") }
    override func tearDown() { files = nil }

    private func logger(_ path: String) throws(CNIError) -> CNILogger {
        try CNILogger.configured(by: .object([("logFile", .string(path)), ("logLevel", .string("debug"))]))
    }

    private func refusal(_ path: String) -> CNIError? {
        do { _ = try logger(path); return nil } catch { return error }
    }

    /// The timestamp's date is computed without gmtime_r: it agrees with it from before
    /// 1970 to past 2100, leap years and centuries included.
    func testTimestampDatesAgreeWithGmtime() {
        for days in stride(from: -800_000, through: 800_000, by: 97) + [-1, 0, 59, 60, 11_016, 11_017, 47_540] {
            var seconds = time_t(days * 86_400)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let date = CNILogger.civilDate(daysSinceEpoch: days)
            XCTAssertEqual([date.year, date.month, date.day],
                           [Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday)], "day \(days)")
        }
        XCTAssertNotNil(CNILogger.timestamp().wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/))
    }

    func testAMissingLogFileIsCreatedPrivateAndWrittenTo() throws {
        let path = directory + "/sub.log"
        let log = try logger(path)
        log.info("hello")
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).hasSuffix("[info] sriov-rdma-cni: hello\n"))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testALogFileThatIsNoRegularFileOrIsRelativeIsRefusedAsInvalidConfig() {
        let fifo = directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(refusal("plugin.log"), CNIError(.invalidNetworkConfig, #"invalid logFile "plugin.log": must be an absolute path"#))
        XCTAssertEqual(refusal(fifo), CNIError(.invalidNetworkConfig, #"invalid logFile ""# + fifo + #"": is a FIFO, not a regular file"#))
        XCTAssertEqual(refusal("/dev/null"),
                       CNIError(.invalidNetworkConfig, #"invalid logFile "/dev/null": is a character device, not a regular file"#))
        XCTAssertEqual(refusal(directory)?.message, #"invalid logFile ""# + directory + #"": is a directory, not a regular file"#)
    }

    func testALogFileThatIsTheStandardOutputOrErrorIsRefusedWhateverItIsCalled() throws {
        let path = directory + "/stdout"
        FileManager.default.createFile(atPath: path, contents: Data())
        for stream: Int32 in [1, 2] {
            fflush(nil)
            let saved = dup(stream)
            let file = open(path, O_WRONLY | O_APPEND)
            dup2(file, stream)
            close(file)
            let byPath = refusal(path), byProc = refusal("/proc/self/fd/\(stream)"), byDev = refusal(stream == 1 ? "/dev/stdout" : "/dev/stderr")
            fflush(nil)
            dup2(saved, stream)
            close(saved)
            let name = stream == 1 ? "standard output" : "standard error"
            XCTAssertEqual(byPath?.message, #"invalid logFile ""# + path + #"": is the plugin's "# + name)
            XCTAssertEqual(byProc?.message, #"invalid logFile "/proc/self/fd/\#(stream)": is the plugin's "# + name)
            XCTAssertEqual(byDev?.code, 7)
        }
    }

    func testAnUnopenableLogFileFallsBackToStandardError() throws {
        XCTAssertNoThrow(try logger(directory + "/missing/dir/plugin.log"))
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

    func testARefusedLogFileFailsADDButNotDEL() throws {
        let fifo = directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let add = NothingPlugin()
        let output = try run("ADD", input: config(padding: 0, logFile: fifo), plugin: add)
        XCTAssertEqual(try JSON.parse(output.stdout)["msg"], .string(#"invalid logFile ""# + fifo + #"": is a FIFO, not a regular file"#))
        XCTAssertFalse(add.called)
        let del = NothingPlugin()
        XCTAssertEqual(try run("DEL", input: config(padding: 0, logFile: fifo), plugin: del), CNISkeleton.Output(stdout: "", exitCode: 0))
        XCTAssertTrue(del.called)
    }
}
