#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few file operations the daemon needs, straight on the syscalls: the config it
/// reads, the status, CDI and device-info files it writes, the sockets it removes.
public enum FileSystem {
    /// A failed syscall: what was done, to which path, and errno's text.
    struct Failure: Error, CustomStringConvertible {
        var operation: String
        var path: String
        var code: Int32
        var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
    }

    /// The whole file, or nil if it cannot be read.
    public static func contents(of path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }

    /// Replaces `path` atomically: a temporary file next to it, written in full, then
    /// renamed over it, so a reader sees the old file or the new one, never a part.
    static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws(Failure) {
        var template = Array((path + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Failure(operation: "creating a file next to", path: path, code: errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var failure: Failure?
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                failure = Failure(operation: "writing", path: temporary, code: errno)
                break
            }
            written += count
        }
        if failure == nil && fchmod(fd, mode) != 0 { failure = Failure(operation: "setting the mode of", path: temporary, code: errno) }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 { failure = Failure(operation: "renaming \(temporary) to", path: path, code: errno) }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    /// Creates `path` and any missing parents; an existing directory is fine.
    static func createDirectory(_ path: String, mode: mode_t = 0o755) throws(Failure) {
        guard !path.isEmpty, !isDirectory(path) else { return }
        let parent = path.deletingLastPathComponent
        if !parent.isEmpty && parent != path { try createDirectory(parent) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else { throw Failure(operation: "creating the directory", path: path, code: errno) }
    }

    /// Removes a file; a missing one is not an error.
    static func remove(_ path: String) {
        unlink(path)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }
}

extension String {
    /// The part after the last `/` (trailing slashes ignored), as NSString has it.
    public var lastPathComponent: String {
        let trimmed = trimmingTrailingSlashes
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The path without its last component: `/a/b` for `/a/b/c`, `/` for `/a`, and the
    /// empty string for a bare name, as NSString has it.
    var deletingLastPathComponent: String {
        let trimmed = trimmingTrailingSlashes
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        let parent = String(trimmed[..<slash])
        return parent.isEmpty ? "/" : parent.trimmingTrailingSlashes
    }

    private var trimmingTrailingSlashes: String {
        var result = Substring(self)
        while result.count > 1, result.hasSuffix("/") { result = result.dropLast() }
        return String(result)
    }
}

/// Seconds since the epoch on the wall clock, for timestamps people and files read.
public func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
