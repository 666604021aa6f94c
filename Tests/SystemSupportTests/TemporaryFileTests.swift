import Foundation
import SystemSupport
import XCTest

final class TemporaryFileTests: XCTestCase {
    func testAnAtomicWritesTemporaryCarriesTheWritersPid() {
        XCTAssertEqual(temporaryFileWriter("0000:00:0a.0.json.tmp4242.aB3xYz"), 4242)
        for other in ["0000:00:0a.0.json", "a.json.tmp.aB3xYz", "a.json.tmp12.short", "a.json.tmp-1.aB3xYz", "a.json.tmp1x.aB3xYz"] {
            XCTAssertNil(temporaryFileWriter(other), other)
        }
    }

    func testOnlyTheTemporariesOfEndedWritersAreRemoved() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tmps-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        XCTAssertTrue(processHasEnded(ended.processIdentifier))
        let dead = "x.json.tmp\(ended.processIdentifier).AAAAAA"
        let live = "x.json.tmp\(getpid()).BBBBBB"
        let init1 = "x.json.tmp1.CCCCCC"  // init lives (so would a process this one may not signal: EPERM)
        for name in [dead, live, init1, "x.json"] {
            FileManager.default.createFile(atPath: directory + "/" + name, contents: Data())
        }
        XCTAssertEqual(removeAbandonedTemporaryFiles(in: directory), [dead])
        XCTAssertEqual(Set(try listDirectory(directory)), [live, init1, "x.json"])
        XCTAssertEqual(removeAbandonedTemporaryFiles(in: directory + "/missing"), [])
    }

    func testWriteFileAtomicallyNamesItsTemporaryForThisProcess() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tmpname-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A write into a path whose rename fails (the target is a non-empty directory) shows the temporary's name.
        try FileManager.default.createDirectory(atPath: directory + "/t/sub", withIntermediateDirectories: true)
        XCTAssertThrowsError(try writeFileAtomically(Array("x".utf8), to: directory + "/t")) {
            let text = "\($0)"
            XCTAssertTrue(text.hasPrefix("renaming \(directory)/t.tmp\(getpid())."), text)
        }
        XCTAssertEqual(try listDirectory(directory), ["t"])
    }
}
