#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// A connected TCP socket with deadline-bounded reads and writes. The descriptor
/// is non-blocking and never leaves this type; EINTR is retried through SystemSupport.
final class TCPConnection {
    private let descriptor: Int32
    let peerDescription: String

    fileprivate init(descriptor: Int32, peerDescription: String) {
        self.descriptor = descriptor
        self.peerDescription = peerDescription
        var one: Int32 = 1
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(descriptor) }

    /// Connects to `host:port`, retrying refused and unreachable attempts until
    /// `timeoutSeconds` pass (the server may start a moment after the client).
    static func connect(host: String, port: UInt16, timeoutSeconds: Double) throws -> TCPConnection {
        let deadline = Deadline(secondsFromNow: timeoutSeconds)
        let address = try resolveIPv4(host: host, port: port)
        var lastError = "no attempt"
        var pause: Int32 = 10
        repeat {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { throw RDMAPerfError.CallFailed("socket(AF_INET, SOCK_STREAM)") }
            var target = address
            var result = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            var error: Int32 = result == 0 ? 0 : errno
            if result != 0 && error == EINPROGRESS {
                var waiting = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                result = retryingOnInterrupt { poll(&waiting, 1, deadline.pollTimeout) }
                if result > 0 {
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
                } else {
                    error = ETIMEDOUT
                }
            }
            if error == 0 { return TCPConnection(descriptor: descriptor, peerDescription: "\(host):\(port)") }
            close(descriptor)
            lastError = String(cString: strerror(error))
            if deadline.hasPassed { break }
            // Back off a little between attempts; never past the deadline.
            _ = poll(nil, 0, min(pause, max(0, deadline.pollTimeout)))
            pause = min(pause * 2, 200)
        } while !deadline.hasPassed
        throw RDMAPerfError.PeerUnreachable(host: host, port: port, seconds: timeoutSeconds, lastError: lastError)
    }

    func send(_ bytes: [UInt8], deadline: Deadline, during: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                retryingOnInterrupt { Glibc.send(descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            if written > 0 { offset += written; continue }
            let error = errno
            if error == EAGAIN || error == EWOULDBLOCK {
                try waitFor(Int16(POLLOUT), deadline: deadline, during: during)
                continue
            }
            if error == EPIPE || error == ECONNRESET { throw RDMAPerfError.PeerClosed(during: during) }
            throw RDMAPerfError.CallFailed("send(side channel)", errorNumber: error)
        }
    }

    func receive(count: Int, deadline: Deadline, during: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = bytes.withUnsafeMutableBytes { raw in
                retryingOnInterrupt { recv(descriptor, raw.baseAddress! + offset, count - offset, 0) }
            }
            if received > 0 { offset += received; continue }
            if received == 0 { throw RDMAPerfError.PeerClosed(during: during) }
            let error = errno
            if error == EAGAIN || error == EWOULDBLOCK {
                try waitFor(Int16(POLLIN), deadline: deadline, during: during)
                continue
            }
            if error == ECONNRESET { throw RDMAPerfError.PeerClosed(during: during) }
            throw RDMAPerfError.CallFailed("recv(side channel)", errorNumber: error)
        }
        return bytes
    }

    private func waitFor(_ events: Int16, deadline: Deadline, during: String) throws {
        var waiting = pollfd(fd: descriptor, events: events, revents: 0)
        let result = retryingOnInterrupt { poll(&waiting, 1, deadline.pollTimeout) }
        if result == 0 { throw RDMAPerfError.PeerTimeout(waitingFor: "the peer during \(during)", seconds: deadline.seconds) }
        if result < 0 { throw RDMAPerfError.CallFailed("poll(side channel)") }
    }
}

/// A listening TCP socket on all IPv4 addresses (perftest's server listens the same way).
final class TCPListener {
    private let descriptor: Int32
    let port: UInt16

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw RDMAPerfError.CallFailed("socket(AF_INET, SOCK_STREAM)") }
        self.port = port
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = INADDR_ANY
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let error = errno
            close(descriptor)
            throw RDMAPerfError.CallFailed("bind(TCP port \(port))", errorNumber: error,
                                           context: error == EADDRINUSE ? "another server (rdma-lat or perftest) holds the port; pick another with --port" : "")
        }
        guard listen(descriptor, 1) == 0 else {
            let error = errno
            close(descriptor)
            throw RDMAPerfError.CallFailed("listen(TCP port \(port))", errorNumber: error)
        }
    }

    deinit { close(descriptor) }

    /// Waits for one client until the deadline.
    func accept(deadline: Deadline) throws -> TCPConnection {
        var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let result = retryingOnInterrupt { poll(&waiting, 1, deadline.pollTimeout) }
            if result == 0 {
                throw RDMAPerfError.PeerTimeout(waitingFor: "a client on TCP port \(port)", seconds: deadline.seconds)
            }
            if result < 0 { throw RDMAPerfError.CallFailed("poll(listener)") }
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let client = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    retryingOnInterrupt { Glibc.accept(descriptor, raw, &length) }
                }
            }
            if client < 0 {
                let error = errno
                if error == EAGAIN || error == EWOULDBLOCK || error == ECONNABORTED { continue }
                throw RDMAPerfError.CallFailed("accept(TCP port \(port))", errorNumber: error)
            }
            // Linux does not pass O_NONBLOCK on to the accepted socket (accept(2)).
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            return TCPConnection(descriptor: client, peerDescription: ipv4Text(address.sin_addr) + ":\(UInt16(bigEndian: address.sin_port))")
        }
    }
}

/// The first IPv4 address of `host` (a dotted quad or a name), with `port`.
func resolveIPv4(host: String, port: UInt16) throws -> sockaddr_in {
    var hints = addrinfo()
    hints.ai_family = AF_INET
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let result = getaddrinfo(host, nil, &hints, &list)
    guard result == 0, let list, let found = list.pointee.ai_addr else {
        let reason = result == 0 ? "no address" : String(cString: gai_strerror(result))
        throw RDMAPerfError.PeerUnreachable(host: host, port: port, seconds: 0, lastError: "cannot resolve '\(host)': \(reason)")
    }
    defer { freeaddrinfo(list) }
    var address = found.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
    address.sin_port = port.bigEndian
    return address
}

func ipv4Text(_ address: in_addr) -> String {
    let value = UInt32(bigEndian: address.s_addr)
    return [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }.joined(separator: ".")
}
