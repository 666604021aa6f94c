import Foundation
import SystemSupport
import TestSupport
import XCTest

final class FileTests: XCTestCase {
    private var files: ScratchDirectory?
    private var directory: String { files!.path }

    override func setUpWithError() throws { files = try ScratchDirectory("system") }
    override func tearDown() { files = nil }

    func testAtomicWriteReplacesTheFileWithTheModeAndLeavesNoTemporary() throws {
        let path = directory + "/status.json"
        try writeFileAtomically(Array("old".utf8), to: path)
        let big = [UInt8](repeating: 0x61, count: 300_000)
        try writeFileAtomically(big, to: path, mode: 0o600)
        XCTAssertEqual(try readFile(path), big)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["status.json"])
    }

    func testAtomicWriteIntoAMissingDirectoryNamesThePathAndTheReason() {
        let path = directory + "/missing/file"
        XCTAssertThrowsError(try writeFileAtomically(Array("x".utf8), to: path)) { error in
            XCTAssertEqual("\(error)", "creating a file next to \(path): No such file or directory")
        }
    }

    func testReadingAMissingFileIsAnErrorWithThePath() {
        XCTAssertThrowsError(try readFile(directory + "/nothing")) { error in
            XCTAssertEqual((error as? FileOperationError)?.errno, .noSuchFile)
            XCTAssertEqual("\(error)", "reading \(directory)/nothing: No such file or directory")
        }
    }

    func testWriteAllAndReadAllThroughAPipeLargerThanItsBuffer() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        let reader = FileDescriptor(rawValue: ends[0]), writer = FileDescriptor(rawValue: ends[1])
        let bytes = (0..<200_000).map { UInt8($0 % 251) }
        let thread = try OSThread.start(name: "writer") {
            try? writer.writeAll(bytes)
            writer.close()
        }
        let read = try reader.closeAfter { () throws(Errno) in try reader.readAll(chunkSize: 4096) }
        thread.join()
        XCTAssertEqual(read, bytes)
    }
}

final class DirectoryTests: XCTestCase {
    func testCreateDirectoriesMakesParentsWithTheirModeAndAcceptsAnExistingOne() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("dirs-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let path = base + "/a/b"
        try createDirectories(path, mode: 0o700, parentMode: 0o755)
        try createDirectories(path, mode: 0o700)
        func mode(_ path: String) throws -> Int? {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        }
        XCTAssertEqual(try mode(path), 0o700)
        XCTAssertEqual(try mode(base + "/a"), 0o755)
    }

    func testCreateDirectoriesNamesTheComponentThatIsAFile() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("dirs-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        try createDirectories(base)
        FileManager.default.createFile(atPath: base + "/file", contents: Data())
        XCTAssertThrowsError(try createDirectories(base + "/file/sub")) {
            XCTAssertEqual("\($0)", "creating the directory \(base)/file/sub: Not a directory")
        }
    }
}
