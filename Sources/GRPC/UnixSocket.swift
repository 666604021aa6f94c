#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

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
/// GRPC module that makes socket syscalls; EINTR is retried here and nowhere else.
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
        while true {
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if result == 0 { return UnixSocket(fd: fd) }
            if errno == EINTR { continue }
            let error = errno
            close(fd)
            throw SocketError(operation: "connect", path: path, errno: error)
        }
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
    func accept() -> UnixSocket? {
        while true {
            let client = accept4(fd, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if client >= 0 { return UnixSocket(fd: client) }
            if errno == EINTR { continue }
            return nil
        }
    }

    enum ReadResult {
        case bytes(Int)
        case wouldBlock
        case endOfStream
        case failed(Int32)
    }

    func read(into buffer: inout [UInt8]) -> ReadResult {
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(errno)
            }
        }
    }

    /// Writes as much as the socket takes; returns the count written, 0 if it would block.
    func write(_ bytes: ArraySlice<UInt8>) throws(SocketError) -> Int {
        while true {
            let count = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count >= 0 { return count }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            default: throw SocketError(operation: "write", path: "fd \(fd)", errno: errno)
            }
        }
    }

    /// Waits until the socket is readable (or writable) or `timeoutMilliseconds` pass.
    func wait(forWriting: Bool = false, timeoutMilliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(forWriting ? POLLOUT : POLLIN), revents: 0)
        while true {
            let result = poll(&entry, 1, timeoutMilliseconds)
            if result >= 0 { return result > 0 }
            if errno != EINTR { return false }
        }
    }

    func closeSocket() { close(fd) }

    /// Removes a socket file; a missing file is fine.
    static func remove(path: String) { unlink(path) }
}
