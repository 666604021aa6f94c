#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import SystemSupport

/// A bearer token kept in a file that is replaced while we run: the kubelet rotates a
/// projected ServiceAccount token about hourly (by swapping the `..data` symlink), and
/// the old token stops working some time after. The file is read again when it is
/// another file or has changed (device, inode, size, mtime), when the copy we hold is a
/// minute old (client-go's cachingTokenSource period), and when the server said 401.
final class BearerTokenFile: Sendable {
    let path: String
    let maximumAge: Duration

    private struct Cached {
        var token: String
        var identity: FileIdentity
        var readAt: MonotonicInstant
    }

    /// What stat(2) says of the file, enough to see that it changed.
    private struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: timespec

        static func == (lhs: FileIdentity, rhs: FileIdentity) -> Bool {
            lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.size == rhs.size
                && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
        }

        /// stat(2), following symlinks (the token is a symlink into `..data`); nil when the
        /// file cannot be examined, which the read that follows reports.
        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = info.st_mtim
        }
    }

    private let cached = Mutex<Cached?>(nil)

    init(path: String, maximumAge: Duration = .seconds(60)) {
        self.path = path
        self.maximumAge = maximumAge
    }

    /// The current token: the copy held, unless the file changed or the copy is too old.
    func token() throws(KubeConfigError) -> String {
        let identity = FileIdentity(path: path)
        let now = MonotonicInstant.now
        let held: String? = cached.withLock { cached in
            guard let cached, let identity, cached.identity == identity, now - cached.readAt < maximumAge else { return nil }
            return cached.token
        }
        if let held { return held }
        let token = try readToken()
        cached.withLock { cached in
            // Without an identity the next call reads again.
            cached = identity.map { Cached(token: token, identity: $0, readAt: now) }
        }
        return token
    }

    /// Forgets the held copy, after the server refused it.
    func invalidate() {
        cached.withLock { $0 = nil }
    }

    /// The file's contents without surrounding whitespace; an empty token is an error.
    func readToken() throws(KubeConfigError) -> String {
        let token = String(decoding: try readKubeFile(path, limit: 64 * 1024), as: UTF8.self).trimmingWhitespace
        guard !token.isEmpty else { throw KubeConfigError(source: path, reason: "the token file is empty") }
        return token
    }
}

/// A small regular file (a token, a kubeconfig, a certificate), refused when it is a
/// FIFO or a device, or larger than `limit`.
func readKubeFile(_ path: String, limit: Int = 4 << 20) throws(KubeConfigError) -> [UInt8] {
    do throws(FileCheckError) {
        return try readRegularFile(path, limit: limit)
    } catch {
        throw KubeConfigError(source: path, reason: error.problem.description)
    }
}
