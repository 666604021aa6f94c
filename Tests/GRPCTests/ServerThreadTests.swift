import Foundation
import GRPC
import XCTest

final class ServerThreadTests: XCTestCase {
    /// A loop thread that cannot be made is an error from init, not a hang in it, and
    /// leaves no socket file behind.
    func testServerWhoseLoopThreadCannotStartThrowsAndRemovesItsSocket() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = GRPCServer.Configuration()
        // A 256 TiB stack: larger than x86-64's user address space, so pthread_create fails.
        configuration.loopThreadStackSize = 1 << 48
        let path = directory + "/dp.sock"
        XCTAssertThrowsError(try GRPCServer(socketPath: path, router: GRPCRouter(), configuration: configuration)) { error in
            XCTAssertTrue("\(error)".hasPrefix("start the server thread for \(path): "), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}

final class ServerStopTests: XCTestCase {
    /// A server stopped twice (stop, then deinit) leaves alone the socket file that a
    /// new server bound at the same path in between.
    func testSecondStopLeavesANewServersSocketAlone() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/kubelet.sock"
        var first: GRPCServer? = try GRPCServer(socketPath: path, router: GRPCRouter())
        first?.stop()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        let second = try GRPCServer(socketPath: path, router: GRPCRouter())
        defer { second.stop() }
        first = nil
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
    }
}
