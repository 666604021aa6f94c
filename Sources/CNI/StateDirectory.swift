#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import JSONValue
import SystemSupport

/// The plugin's on-disk state: small JSON records written atomically (temporary file,
/// rename), and lock files taken with flock(2). No fsync: the records matter while the
/// node runs (a crashed plugin, a lost runtime cache); after a power loss every pod
/// namespace is gone too, and a torn record is read as corrupt and set aside. Locks are released when their
/// descriptor closes, so a plugin that dies never leaves one held.
public struct StateDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Creates the directory and `subdirectories` (mode 0700) when missing. `write` and
    /// `lock` create what they need themselves; this is for callers that must know the
    /// directory is usable (STATUS).
    public func prepare(_ subdirectories: [String] = []) throws(CNIError) {
        try Self.makeDirectories(path)
        for name in subdirectories { try Self.makeDirectories(path + "/" + name) }
    }

    static func makeDirectories(_ path: String) throws(CNIError) {
        do throws(FileOperationError) {
            try createDirectories(path, mode: 0o700)
        } catch {
            throw CNIError(.stateFailed, "cannot create state directory \(error.path)", details: error.errno.description)
        }
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Runs `attempt` once more after creating the directory of `name` (mode 0700) when
    /// it failed with ENOENT: the directories are made when first needed, not checked
    /// at every call (a mkdir each is a system call per subdirectory per CNI call).
    private func withDirectory<T>(of name: String, _ attempt: () throws(CNIError) -> T,
                                  missing: (CNIError) -> Bool) throws(CNIError) -> T {
        do {
            return try attempt()
        } catch where missing(error) {
            let directory = file(name).split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            try Self.makeDirectories(directory)
            return try attempt()
        }
    }

    /// Replaces `name` with `json` so that a reader sees the old or the new record,
    /// never a torn one.
    public func write(_ name: String, _ json: JSON) throws(CNIError) {
        try write(name, raw: Array((json.prettyPrinted + "\n").utf8))
    }

    /// `bytes` as the record `name`, as `write` writes JSON.
    public func write(_ name: String, raw bytes: [UInt8]) throws(CNIError) {
        let target = file(name)
        var directoryMissing = false
        try withDirectory(of: name, { () throws(CNIError) in
            do throws(FileOperationError) {
                try writeFileAtomically(bytes, to: target, mode: 0o600)
            } catch {
                directoryMissing = error.errno == .noSuchFile
                throw CNIError(.stateFailed, "cannot write state file \(target)", details: error.errno.description)
            }
        }, missing: { _ in directoryMissing })
    }

    /// The record `name`, nil when there is none. A record that is not JSON is an error.
    public func read(_ name: String) throws(CNIError) -> JSON? {
        let target = file(name)
        let bytes: [UInt8]
        do throws(FileOperationError) {
            bytes = try readFile(target)
        } catch {
            if error.errno == .noSuchFile { return nil }
            throw CNIError(.stateFailed, "cannot read state file \(target)", details: error.errno.description)
        }
        do {
            return try JSON.parse(bytes)
        } catch {
            throw CNIError(.stateFailed, "state file \(target) is corrupt", details: error.description)
        }
    }

    /// Removes `name`; a missing record is fine.
    public func remove(_ name: String) throws(CNIError) {
        guard unlink(file(name)) == 0 || errno == ENOENT else {
            throw CNIError(.stateFailed, "cannot remove state file \(file(name))", details: String(cString: strerror(errno)))
        }
    }

    /// The names in `subdirectory` ending in `suffix`, sorted.
    public func list(_ subdirectory: String, suffix: String) -> [String] {
        let names = (try? listDirectory(file(subdirectory))) ?? []
        return names.filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// Removes the temporary files that calls which have since ended left in
    /// `subdirectories` (a call killed between writing a record's temporary and
    /// renaming it); a live call's temporary stays. Each removal is logged; returns the
    /// paths removed.
    @discardableResult
    public func removeAbandonedTemporaries(in subdirectories: [String], logger: CNILogger) -> [String] {
        let removed = subdirectories.flatMap { subdirectory in
            removeAbandonedTemporaryFiles(in: file(subdirectory)).map { file(subdirectory + "/" + $0) }
        }
        for path in removed { logger.info("removed \(path), left by a call that has ended") }
        return removed
    }

    /// Takes an exclusive flock on `name` (created when missing), waiting up to
    /// `timeout`. A timeout is error 11: the runtime should try again later.
    public func lock(_ name: String, timeout: Duration, purpose: String) throws(CNIError) -> FileLock {
        let target = file(name)
        var directoryMissing = false
        let fd = try withDirectory(of: name, { () throws(CNIError) -> Int32 in
            let fd = open(target, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                directoryMissing = errno == ENOENT
                throw CNIError(.stateFailed, "cannot open lock file \(target)", details: String(cString: strerror(errno)))
            }
            return fd
        }, missing: { _ in directoryMissing })
        let deadline = MonotonicInstant.now + timeout
        var pause = Duration.milliseconds(1)  // doubling to 32 ms
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let code = errno
                close(fd)
                throw CNIError(.stateFailed, "cannot lock \(target)", details: String(cString: strerror(code)))
            }
            guard MonotonicInstant.now < deadline else {
                close(fd)
                throw CNIError(.tryAgainLater, "timed out after \(timeout.inSeconds) s waiting for the lock on \(purpose)",
                               details: "another CNI call holds \(target)")
            }
            sleepBlocking(for: pause)
            pause = min(pause * 2, .milliseconds(32))
        }
        return FileLock(descriptor: fd, path: target)
    }
}

/// A held flock; released when this object goes away (or the process exits).
public final class FileLock: @unchecked Sendable {
    let descriptor: Int32
    public let path: String

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }
}
