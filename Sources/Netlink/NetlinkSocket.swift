internal import CNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One message of a reply: its type and the bytes after struct nlmsghdr.
struct NetlinkReply {
    var type: UInt16
    var payload: ArraySlice<UInt8>
}

/// A netlink socket of one protocol (NETLINK_ROUTE, NETLINK_RDMA) bound to one
/// network namespace: the socket is created by a thread inside that namespace, and
/// afterwards every request on it, from any thread, acts in that namespace. libnl
/// owns the socket (nl_socket_set_fd) and numbers and sends the messages.
final class NetlinkSocket {
    private let handle: OpaquePointer
    /// Where the socket lives, for error messages.
    let namespaceName: String

    init(protocol netlinkProtocol: Int32, namespace: NetworkNamespace?) throws {
        let fd: Int32
        if let namespace {
            fd = try namespace.run { try Self.openBound(netlinkProtocol) }
            namespaceName = namespace.name
        } else {
            fd = try Self.openBound(netlinkProtocol)
            namespaceName = "this process's netns"
        }
        guard let socket = nl_socket_alloc() else {
            close(fd)
            throw NetlinkError(operation: "allocate a libnl socket", device: "libnl", errno: ENOMEM)
        }
        let result = nl_socket_set_fd(socket, netlinkProtocol, fd)
        guard result >= 0 else {
            nl_socket_free(socket)
            close(fd)
            throw NetlinkError(operation: "adopt a netlink socket", device: "libnl", errno: EINVAL,
                               kernelMessage: String(cString: nl_geterror(result)))
        }
        // Replies to dumps (a PF with many VFs) can exceed one page: let libnl peek at
        // the size first.
        nl_socket_enable_msg_peek(socket)
        handle = socket
    }

    deinit { nl_socket_free(handle) }  // closes the descriptor

    private static func openBound(_ netlinkProtocol: Int32) throws -> Int32 {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkProtocol)
        guard fd >= 0 else {
            throw NetlinkError(operation: "open netlink socket (protocol \(netlinkProtocol))", device: "kernel", errno: errno)
        }
        // Extended acks carry the kernel's reason as text; capped acks leave out the echo
        // of our request so the text is easy to find.
        var on: Int32 = 1
        _ = setsockopt(fd, Int32(SOL_NETLINK), Int32(NETLINK_EXT_ACK), &on, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, Int32(SOL_NETLINK), Int32(NETLINK_CAP_ACK), &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw NetlinkError(operation: "bind netlink socket", device: "kernel", errno: code)
        }
        return fd
    }

    /// Sends a request with NLM_F_ACK and returns the messages before the
    /// acknowledgement. A refusal throws with the operation and device named.
    func request(_ message: NetlinkMessage, operation: String, device: String) throws -> [NetlinkReply] {
        nlmsg_hdr(message.pointer).pointee.nlmsg_flags |= UInt16(NLM_F_ACK)
        return try exchange(message, dump: false, operation: operation, device: device)
    }

    /// Sends a dump request (NLM_F_DUMP) and returns every message up to NLMSG_DONE.
    func dump(_ message: NetlinkMessage, operation: String, device: String) throws -> [NetlinkReply] {
        nlmsg_hdr(message.pointer).pointee.nlmsg_flags |= UInt16(NLM_F_DUMP)
        return try exchange(message, dump: true, operation: operation, device: device)
    }

    private func exchange(_ message: NetlinkMessage, dump: Bool, operation: String, device: String) throws -> [NetlinkReply] {
        let sent = nl_send_auto(handle, message.pointer)
        guard sent >= 0 else {
            throw NetlinkError(operation: operation, device: device, errno: EIO,
                               kernelMessage: "send: " + String(cString: nl_geterror(sent)))
        }
        let sequence = message.sequence
        var replies: [NetlinkReply] = []
        while true {
            var peer = sockaddr_nl()
            var buffer: UnsafeMutablePointer<UInt8>?
            let count = nl_recv(handle, &peer, &buffer, nil)
            guard count > 0, let buffer else {
                free(buffer)
                throw NetlinkError(operation: operation, device: device, errno: EIO,
                                   kernelMessage: "receive: " + String(cString: nl_geterror(count)))
            }
            let bytes = Array(UnsafeBufferPointer(start: buffer, count: Int(count)))
            free(buffer)
            if let finished = try Self.parse(bytes[...], sequence: sequence, dump: dump, into: &replies,
                                             operation: operation, device: device), finished {
                return replies
            }
        }
    }

    /// Splits one datagram into messages. Returns true when the exchange is complete
    /// (the ack, or NLMSG_DONE of a dump).
    private static func parse(_ bytes: ArraySlice<UInt8>, sequence: UInt32, dump: Bool, into replies: inout [NetlinkReply],
                              operation: String, device: String) throws -> Bool? {
        let headerSize = MemoryLayout<nlmsghdr>.size
        var offset = bytes.startIndex
        while bytes.endIndex - offset >= headerSize {
            guard let header = bytes[offset...].load(nlmsghdr.self) else { break }
            let length = Int(header.nlmsg_len)
            guard length >= headerSize, offset + length <= bytes.endIndex else { break }
            let payload = bytes[(offset + headerSize)..<(offset + length)]
            offset += (length + 3) & ~3
            guard header.nlmsg_seq == sequence else { continue }  // a stale reply to an earlier request
            switch Int32(header.nlmsg_type) {
            case Int32(NLMSG_NOOP):
                continue
            case Int32(NLMSG_ERROR):
                let code = payload.load(Int32.self) ?? -EIO
                if code == 0 { return true }  // the acknowledgement
                throw NetlinkError(operation: operation, device: device, errno: -code,
                                   kernelMessage: extendedAckMessage(header: header, payload: payload))
            case Int32(NLMSG_DONE):
                if let code = payload.load(Int32.self), code < 0 {
                    throw NetlinkError(operation: operation, device: device, errno: -code,
                                       kernelMessage: extendedAckMessage(header: header, payload: payload))
                }
                return true
            case Int32(NLMSG_OVERRUN):
                throw NetlinkError(operation: operation, device: device, errno: ENOBUFS, kernelMessage: "netlink overrun")
            default:
                replies.append(NetlinkReply(type: header.nlmsg_type, payload: payload))
            }
        }
        return false
    }

    /// include/uapi/linux/netlink.h: with NETLINK_EXT_ACK the error message carries
    /// NLMSGERR_ATTR_* attributes after struct nlmsgerr (capped: no request echo).
    private static func extendedAckMessage(header: nlmsghdr, payload: ArraySlice<UInt8>) -> String? {
        guard header.nlmsg_flags & UInt16(NLM_F_ACK_TLVS) != 0 else { return nil }
        var start = payload.startIndex + MemoryLayout<Int32>.size + MemoryLayout<nlmsghdr>.size
        if Int32(header.nlmsg_type) == Int32(NLMSG_DONE) {
            start = payload.startIndex + MemoryLayout<Int32>.size
        } else if header.nlmsg_flags & UInt16(NLM_F_CAPPED) == 0,
                  let echoed = payload.dropFirst(MemoryLayout<Int32>.size).load(nlmsghdr.self) {
            start = payload.startIndex + MemoryLayout<Int32>.size + ((Int(echoed.nlmsg_len) + 3) & ~3)
        }
        guard start <= payload.endIndex else { return nil }
        let attributes = Attributes(payload[start...])
        return attributes.string(Int(NLMSGERR_ATTR_MSG.rawValue))
    }
}
