internal import CNL
import SystemSupport
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
/// network namespace: the socket is created inside that namespace (NetworkNamespace.run),
/// and afterwards every request on it acts in that namespace. One thread at a time
/// (the sequence counter and the buffer are not shared safely). libnl
/// builds the messages; this type numbers, sends and receives them on its descriptor
/// itself: one send(2) per request and one recv(2) per reply datagram (libnl's peeking
/// receive read every datagram twice, and adopting a descriptor cost it three more
/// system calls; the CNI counts them, issue #19).
final class NetlinkSocket {
    private let descriptor: Int32
    /// Where the socket lives, for error messages.
    let namespaceName: String
    private var nextSequence: UInt32
    /// Reply datagrams are received here; it grows when one did not fit (a PF with
    /// hundreds of VFs), and the request is sent again.
    private var buffer: UnsafeMutableRawBufferPointer

    static let initialBufferSize = 64 * 1024

    init(protocol netlinkProtocol: Int32, namespace: NetworkNamespace?, bufferSize: Int = initialBufferSize) throws {
        if let namespace {
            descriptor = try namespace.run { try Self.openBound(netlinkProtocol) }
            namespaceName = namespace.name
        } else {
            descriptor = try Self.openBound(netlinkProtocol)
            namespaceName = "this process's netns"
        }
        nextSequence = UInt32(truncatingIfNeeded: time(nil))
        buffer = .allocate(byteCount: bufferSize, alignment: 8)
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
    }

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
        let header = nlmsg_hdr(message.pointer)!
        var resent = false
        while true {
            nextSequence &+= 1
            let sequence = nextSequence
            header.pointee.nlmsg_seq = sequence
            header.pointee.nlmsg_pid = 0
            header.pointee.nlmsg_flags |= UInt16(NLM_F_REQUEST)
            let length = Int(header.pointee.nlmsg_len)
            let sent = retryingOnInterrupt { send(descriptor, UnsafeRawPointer(header), length, 0) }
            guard sent == length else {
                throw NetlinkError(operation: operation, device: device, errno: sent < 0 ? errno : EIO,
                                   kernelMessage: sent < 0 ? nil : "send: \(sent) of \(length) bytes sent")
            }
            var replies: [NetlinkReply] = []
            var truncatedAt: Int?
            var finished = false
            while !finished {
                // MSG_TRUNC: the datagram's real length even when it did not fit. After a
                // datagram was lost, what is left of the exchange is drained without
                // waiting: the kernel queues the next part of a dump as this one is read.
                let count = receive(waiting: truncatedAt == nil)
                guard count >= 0 else {
                    if truncatedAt != nil && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
                    throw NetlinkError(operation: operation, device: device, errno: errno)
                }
                guard count > 0 else {
                    throw NetlinkError(operation: operation, device: device, errno: EIO, kernelMessage: "receive: the socket was closed")
                }
                if count > buffer.count || truncatedAt != nil {
                    // The header survives truncation: a stale reply of an earlier exchange
                    // that did not fit is dropped, not a reason to send this request again.
                    if truncatedAt == nil && buffer.loadUnaligned(as: nlmsghdr.self).nlmsg_seq != sequence { continue }
                    truncatedAt = max(truncatedAt ?? 0, count)
                    continue
                }
                let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                finished = try Self.parse(bytes[...], sequence: sequence, dump: dump, into: &replies,
                                          operation: operation, device: device) ?? false
            }
            guard let needed = truncatedAt else { return replies }
            guard !resent else {
                throw NetlinkError(operation: operation, device: device, errno: EMSGSIZE,
                                   kernelMessage: "a reply of \(needed) bytes did not fit in \(buffer.count)")
            }
            resent = true
            buffer.deallocate()
            buffer = .allocate(byteCount: max(needed, buffer.count) * 2, alignment: 8)
        }
    }

    /// One datagram from the kernel into `buffer`: its full length (which may exceed the
    /// buffer), or -1 with errno set.
    private func receive(waiting: Bool) -> Int {
        while true {
            var peer = sockaddr_nl()
            var peerLength = socklen_t(MemoryLayout<sockaddr_nl>.size)
            let flags = Int32(MSG_TRUNC) | (waiting ? 0 : Int32(MSG_DONTWAIT))
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    retryingOnInterrupt { recvfrom(descriptor, buffer.baseAddress, buffer.count, flags, address, &peerLength) }
                }
            }
            if count >= 0 && peer.nl_pid != 0 { continue }  // only the kernel answers
            return count
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
