#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// A failed file operation: what was done, to which path, and the kernel's reason.
public struct FileOperationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Errno

    public var description: String { "\(operation) \(path): \(errno)" }
}

extension FileOperationError {
    /// `errno` failed `operation` on `path`, for callers that make the call themselves.
    public static func failed(_ operation: String, _ path: String, _ errno: Errno) -> FileOperationError {
        FileOperationError(operation: operation, path: path, errno: errno)
    }
}

/// The whole of the file at `path`.
public func readFile(_ path: String) throws(FileOperationError) -> [UInt8] {
    let bytes = Result { () throws(Errno) in
        let file = try FileDescriptor.open(path, O_RDONLY)
        return try file.closeAfter { () throws(Errno) in try file.readAll() }
    }
    switch bytes {
    case .success(let bytes): return bytes
    case .failure(let error): throw FileOperationError(operation: "reading", path: path, errno: error)
    }
}

/// Replaces `path` atomically: a temporary file next to it, written in full, given
/// `mode`, then renamed over it, so a reader sees the old file or the new one, never
/// a part. On failure the temporary file is removed and `path` is untouched. The
/// temporary's name carries the writer's pid (`temporaryFileWriter`), so the file of
/// a writer killed before the rename can be told from a live writer's and removed
/// (`removeAbandonedTemporaryFiles`).
public func writeFileAtomically(_ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o644) throws(FileOperationError) {
    var template = Array(temporaryFileTemplate(for: path, writer: processID).utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkostemp($0.baseAddress!, O_CLOEXEC) }
    guard fd >= 0 else { throw FileOperationError(operation: "creating a file next to", path: path, errno: .current) }
    let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    let file = FileDescriptor(rawValue: fd)
    var failure: FileOperationError?
    if case .failure(let error) = Result(catching: { () throws(Errno) in try file.writeAll(bytes) }) {
        failure = FileOperationError(operation: "writing", path: temporary, errno: error)
    }
    // mkostemp(3) created it 0600.
    if failure == nil && mode != 0o600 && fchmod(fd, mode) != 0 {
        failure = FileOperationError(operation: "setting the mode of", path: temporary, errno: .current)
    }
    file.close()
    if failure == nil && rename(temporary, path) != 0 {
        failure = FileOperationError(operation: "renaming \(temporary) to", path: path, errno: .current)
    }
    if let failure {
        unlink(temporary)
        throw failure
    }
}

/// Creates `path` with `mode`, and any missing parent with `parentMode` (nil: `mode`
/// too); an existing directory is fine. A failure names the directory it stopped at.
public func createDirectories(_ path: String, mode: mode_t = 0o755, parentMode: mode_t? = nil) throws(FileOperationError) {
    // Usually there already, or only the last is missing: one mkdir, not one per component.
    if mkdir(path, mode) == 0 || errno == EEXIST { return }
    let components = path.split(separator: "/")
    var built = path.hasPrefix("/") ? "" : "."
    for (index, component) in components.enumerated() {
        built += "/" + component
        let last = index == components.count - 1
        if mkdir(built, last ? mode : parentMode ?? mode) != 0 && errno != EEXIST {
            throw FileOperationError(operation: "creating the directory", path: built, errno: .current)
        }
    }
}

/// The names in the directory at `path`, without `.` and `..`, in no particular order.
public func listDirectory(_ path: String) throws(FileOperationError) -> [String] {
    guard let directory = opendir(path) else {
        throw FileOperationError(operation: "listing", path: path, errno: .current)
    }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}
