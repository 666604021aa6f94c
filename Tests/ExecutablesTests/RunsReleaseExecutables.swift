import Foundation
import XCTest

/// Runs the release executables as a user does. `scripts/test` builds them first with
/// `swift build -c release --static-swift-stdlib`; SRIOV_RDMA_BIN_DIR overrides where
/// they are looked for.
protocol RunsReleaseExecutables {}

struct Output { var status: Int32; var stdout: String; var stderr: String }

extension RunsReleaseExecutables {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var binDir: URL {
        if let dir = ProcessInfo.processInfo.environment["SRIOV_RDMA_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return packageRoot.appendingPathComponent(".build/release")
    }

    func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    func binary(_ name: String) throws -> String {
        let path = Self.binDir.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("\(path) is missing: build it with `swift build -c release --static-swift-stdlib` (scripts/test does)")
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

}
