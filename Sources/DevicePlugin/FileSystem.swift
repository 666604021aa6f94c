#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// The few file operations the daemon needs, straight on the syscalls: the config it
/// reads, the status, CDI and device-info files it writes, the sockets it removes.
public enum FileSystem {
    /// The whole file, or nil if it cannot be read.
    public static func contents(of path: String) -> [UInt8]? {
        try? readFile(path)
    }

    /// Replaces `path` atomically (see `writeFileAtomically`).
    static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws(FileOperationError) {
        try writeFileAtomically(text.utf8, to: path, mode: mode)
    }

    /// Creates `path` and any missing parents (0755); an existing directory is fine.
    static func createDirectory(_ path: String, mode: mode_t = 0o755) throws(FileOperationError) {
        try createDirectories(path, mode: mode, parentMode: 0o755)
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

/// Seconds since the epoch on the wall clock, for timestamps people and files read.
public func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
