import CNI
import Foundation
import XCTest

@testable import VFAttach

/// Records of the on-disk state directory of earlier builds move to the tmpfs one, so that DEL of
/// a pod attached before an upgrade restores its VF.
final class LegacyStateTests: XCTestCase {
    private var base = ""

    override func setUpWithError() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("legacy-state-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: base) }

    private func write(_ path: String, _ text: String, age: TimeInterval = 0) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: path)
    }

    private func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    func testRecordsMoveAndTheOldDirectoryGoes() throws {
        let legacy = base + "/var-lib", current = base + "/run"
        try write(legacy + "/attachments/c1-net1.json", #"{"old": 1}"#)
        try write(legacy + "/allocations/0000:01:10.2.json", #"{"allocation": 1}"#)
        try write(legacy + "/rdma/c2-net1.json", #"{"rdma": 1}"#)
        try write(legacy + "/locks/0000:01:10.2.lock", "")
        // Both places: the newer wins (an older binary may have written the legacy one last).
        try write(current + "/attachments/c3-net1.json", #"{"new": 3}"#, age: 60)
        try write(legacy + "/attachments/c3-net1.json", #"{"old": 3}"#)
        try write(current + "/attachments/c4-net1.json", #"{"new": 4}"#)
        try write(legacy + "/attachments/c4-net1.json", #"{"old": 4}"#, age: 60)

        try LegacyState.move(from: legacy, to: current, logger: CNILogger(level: .error))

        XCTAssertFalse(FileManager.default.fileExists(atPath: legacy))
        XCTAssertEqual(read(current + "/attachments/c1-net1.json"), #"{"old": 1}"#)
        XCTAssertEqual(read(current + "/allocations/0000:01:10.2.json"), #"{"allocation": 1}"#)
        XCTAssertEqual(read(current + "/rdma/c2-net1.json"), #"{"rdma": 1}"#)
        XCTAssertEqual(read(current + "/attachments/c3-net1.json"), #"{"old": 3}"#)
        XCTAssertEqual(read(current + "/attachments/c4-net1.json"), #"{"new": 4}"#)
        let mode = try FileManager.default.attributesOfItem(atPath: current + "/attachments/c1-net1.json")[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)

        // Nothing there: nothing done, nothing created.
        try LegacyState.move(from: legacy, to: base + "/other", logger: CNILogger(level: .error))
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/other"))
    }

    func testAnotherStateDirectoryIsNotAMigrationTarget() throws {
        XCTAssertEqual(SRIOVNetConf.defaultStateDir, "/run/sriov-rdma/cni")
        // A network with its own stateDir never takes the default's legacy records.
        try LegacyState.migrate(into: base + "/custom", logger: CNILogger(level: .error))
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/custom"))
    }

    /// Someone else's file is set aside with the directory once, so that later calls
    /// find nothing to move; a temporary of an ended call is swept, not moved.
    func testUnknownFilesAreSetAsideOnceAndTemporariesSwept() throws {
        let legacy = base + "/var-lib", current = base + "/run"
        try write(legacy + "/attachments/c1-net1.json", "{}")
        try write(legacy + "/attachments/c2-net1.json.tmp999999.Ab12Cd", "{")
        try write(legacy + "/notes.txt", "mine")
        try LegacyState.move(from: legacy, to: current, logger: CNILogger(level: .error))
        XCTAssertEqual(read(current + "/attachments/c1-net1.json"), "{}")
        XCTAssertFalse(FileManager.default.fileExists(atPath: legacy))
        let aside = try FileManager.default.contentsOfDirectory(atPath: base).filter { $0.hasPrefix("var-lib.left-") }
        XCTAssertEqual(aside.count, 1)
        XCTAssertEqual(read(base + "/" + aside[0] + "/notes.txt"), "mine")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: current + "/attachments"), ["c1-net1.json"])
    }
}
