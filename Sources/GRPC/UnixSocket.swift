#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import SystemSupport

/// A socket error with the call and path it concerns and the kernel's reason.
public struct SocketError: Error, Equatable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// A Unix-domain stream socket file descriptor. This file is the only place in the
/// GRPC module that makes socket syscalls; EINTR is retried through SystemSupport.
struct UnixSocket: Sendable {
    let fd: Int32

    /// Creates, binds and listens; an existing socket file at `path` is replaced.
    /// The socket file gets `mode` (kubelet's device-plugin sockets are 0600).
    static func listen(path: String, mode: mode_t = 0o600, backlog: Int32 = 128) throws(SocketError) -> UnixSocket {
        var address = try makeAddress(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", path: path, errno: errno) }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw SocketError(operation: "bind", path: path, errno: error)
        }
        chmod(path, mode)
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = errno
            close(fd)
            throw SocketError(operation: "listen", path: path, errno: error)
        }
        return UnixSocket(fd: fd)
    }

    /// A blocking connection to `path`.
    static func connect(path: String) throws(SocketError) -> UnixSocket {
        var address = try makeAddress(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", path: path, errno: errno) }
        // An interrupted connect(2) goes on in the background: retrying it is EALREADY,
        // then EISCONN. A blocking Unix-socket connect completes or fails at once, so
        // a retry sees the outcome.
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                retryingOnInterrupt { Glibc.connect(fd, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        if result == 0 || errno == EISCONN { return UnixSocket(fd: fd) }
        let error = errno
        close(fd)
        throw SocketError(operation: "connect", path: path, errno: error)
    }

    private static func makeAddress(_ path: String) throws(SocketError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw SocketError(operation: "socket path too long (\(bytes.count) bytes)", path: path, errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// Accepts one pending connection, non-blocking; nil when none is waiting.
    func accept() throws(Errno) -> UnixSocket? {
        let client = retryingOnInterrupt { accept4(fd, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)) }
        if client >= 0 { return UnixSocket(fd: client) }
        if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
        throw .current
    }

    enum ReadResult {
        case bytes(Int)
        case wouldBlock
        case endOfStream
        case failed(Int32)
    }

    func read(into buffer: inout [UInt8]) -> ReadResult {
        let count = buffer.withUnsafeMutableBytes { raw in retryingOnInterrupt { Glibc.read(fd, raw.baseAddress, raw.count) } }
        if count > 0 { return .bytes(count) }
        if count == 0 { return .endOfStream }
        return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed(errno)
    }

    /// Writes as much as the socket takes; returns the count written, 0 if it would block.
    func write(_ bytes: ArraySlice<UInt8>) throws(SocketError) -> Int {
        let count = bytes.withUnsafeBytes { raw in retryingOnInterrupt { send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL)) } }
        if count >= 0 { return count }
        if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
        throw SocketError(operation: "write", path: "fd \(fd)", errno: errno)
    }

    /// Waits until the socket is readable (or writable) or `timeoutMilliseconds` pass.
    func wait(forWriting: Bool = false, timeoutMilliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(forWriting ? POLLOUT : POLLIN), revents: 0)
        return retryingOnInterrupt { poll(&entry, 1, timeoutMilliseconds) } > 0
    }

    func closeSocket() { close(fd) }

    /// Removes a socket file; a missing file is fine.
    static func remove(path: String) { unlink(path) }
}
