import Foundation

/// A directory of its own under the system's temporary directory, removed with this
/// object: for tests that write files.
public final class ScratchDirectory {
    public let path: String

    public init(_ prefix: String = "scratch") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
