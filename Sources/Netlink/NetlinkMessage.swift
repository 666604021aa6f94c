internal import CNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A request being built with libnl's message and attribute functions
/// (nlmsg_alloc_simple, nlmsg_append, nla_put, nla_nest_start/end).
final class NetlinkMessage {
    let pointer: OpaquePointer

    /// `type` is the netlink message type (RTM_SETLINK, an RDMA_NL_GET_TYPE value);
    /// NLM_F_REQUEST is added when the message is sent.
    init(type: Int, flags: Int32 = 0) throws {
        guard let message = nlmsg_alloc_simple(Int32(type), flags) else {
            throw NetlinkError(operation: "allocate a netlink message", device: "libnl", errno: ENOMEM)
        }
        pointer = message
    }

    deinit { nlmsg_free(pointer) }

    /// The message as it goes on the wire (nlmsghdr first), for tests.
    var bytes: [UInt8] {
        let header = nlmsg_hdr(pointer)!
        return Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(header), count: Int(header.pointee.nlmsg_len)))
    }

    /// The fixed family header after nlmsghdr (ifinfomsg, ifaddrmsg, rtmsg).
    func appendHeader<Header: BitwiseCopyable>(_ header: Header) throws {
        var copy = header
        try check(nlmsg_append(pointer, &copy, MemoryLayout<Header>.size, Int32(NLMSG_ALIGNTO)), "family header")
    }

    func put(_ type: Int, bytes: [UInt8]) throws {
        try check(bytes.withUnsafeBytes { nla_put(pointer, Int32(type), Int32($0.count), $0.baseAddress) }, "attribute \(type)")
    }

    /// A C struct's bytes as one attribute (ifla_vf_mac, ifla_vf_vlan_info, ...).
    func put<Value: BitwiseCopyable>(_ type: Int, raw value: Value) throws {
        try put(type, bytes: withUnsafeBytes(of: value) { Array($0) })
    }

    func put(_ type: Int, u8 value: UInt8) throws {
        try check(nla_put_u8(pointer, Int32(type), value), "attribute \(type)")
    }

    func put(_ type: Int, u32 value: UInt32) throws {
        try check(nla_put_u32(pointer, Int32(type), value), "attribute \(type)")
    }

    /// A NUL-terminated string attribute, the form the kernel's NLA_STRING policies accept.
    func put(_ type: Int, string value: String) throws {
        try check(nla_put_string(pointer, Int32(type), value), "attribute \(type)")
    }

    /// Attributes written by `body` go inside a nested attribute. `flagNested` sets
    /// NLA_F_NESTED, which newer attributes (IFLA_PROP_LIST) are validated with.
    func nested(_ type: Int, flagNested: Bool = false, _ body: () throws -> Void) throws {
        let fullType = Int32(type) | (flagNested ? Int32(NLA_F_NESTED) : 0)
        guard let start = nla_nest_start(pointer, fullType) else {
            throw NetlinkError(operation: "build netlink message (nest \(type))", device: "libnl", errno: ENOBUFS)
        }
        try body()
        try check(nla_nest_end(pointer, start), "nest \(type)")
    }

    /// The sequence number libnl gave the message when it was sent.
    var sequence: UInt32 { nlmsg_hdr(pointer).pointee.nlmsg_seq }

    private func check(_ result: Int32, _ what: String) throws {
        guard result >= 0 else {
            throw NetlinkError(operation: "build netlink message (\(what))", device: "libnl", errno: ENOBUFS,
                               kernelMessage: String(cString: nl_geterror(result)))
        }
    }
}
