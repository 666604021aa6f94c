import CNL
import Glibc
@testable import Netlink
import NetnsTestSupport
import XCTest

/// InfiniBand VF GUIDs through the PF: the request's exact bytes, the kernel's answer
/// to it, and the VF table's GUID attributes read back. No InfiniBand hardware is
/// here, so the kernel's answer is the one of a device without VF GUID support (a veth,
/// as igb in the lab): EOPNOTSUPP for a well-formed request, a policy error for a
/// malformed one.
final class VirtualFunctionGUIDTests: XCTestCase {
    let guid: UInt64 = 0x0211_2233_4455_6677

    /// `struct ifla_vf_guid { __u32 vf; __u64 guid; }` (include/uapi/linux/if_link.h):
    /// 16 bytes on 64-bit Linux, the VF number first, four bytes of zero padding, the
    /// GUID at offset 8, both in host byte order.
    func testGUIDPayloadIsTheUAPIStruct() {
        XCTAssertEqual(MemoryLayout<ifla_vf_guid>.size, 16)
        var value = ifla_vf_guid()
        value.vf = 3
        value.guid = guid
        XCTAssertEqual(Array(RouteNetlink.vfGUIDPayload(vf: 3, guid: guid)[0..<4]), withUnsafeBytes(of: value.vf, Array.init))
        XCTAssertEqual(Array(RouteNetlink.vfGUIDPayload(vf: 3, guid: guid)[8..<16]), withUnsafeBytes(of: value.guid, Array.init))
        XCTAssertEqual(Array(RouteNetlink.vfGUIDPayload(vf: 3, guid: guid)[4..<8]), [0, 0, 0, 0])
        // On this (little-endian) machine: the bytes as the kernel reads them.
        XCTAssertEqual(RouteNetlink.vfGUIDPayload(vf: 3, guid: guid),
                       [3, 0, 0, 0, 0, 0, 0, 0, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x02])
    }

    /// The whole RTM_SETLINK request: ifinfomsg naming the PF, then
    /// IFLA_VFINFO_LIST › IFLA_VF_INFO › IFLA_VF_IB_NODE_GUID (or PORT_GUID) holding the struct.
    func testNodeAndPortGUIDRequests() throws {
        for (setting, type) in [(VFSetting.nodeGUID(guid), IFLA_VF_IB_NODE_GUID), (.portGUID(guid), IFLA_VF_IB_PORT_GUID)] {
            let bytes = try RouteNetlink.virtualFunctionRequest(ofPF: 42, vf: 3, setting).bytes
            let header = MemoryLayout<nlmsghdr>.size + MemoryLayout<ifinfomsg>.size
            XCTAssertEqual(bytes.count, header + 4 + 4 + 4 + 16)
            XCTAssertEqual(u16(bytes, 4), UInt16(RTM_SETLINK))
            XCTAssertEqual(Int32(bitPattern: u32(bytes, MemoryLayout<nlmsghdr>.size + 4)), 42, "ifi_index")
            // IFLA_VFINFO_LIST (len 28) › IFLA_VF_INFO (len 24) › the GUID attribute (len 20).
            // libnl flags its nests NLA_F_NESTED, which the kernel's nla_type() masks off.
            let nested = UInt16(NLA_F_NESTED)
            XCTAssertEqual([u16(bytes, header), u16(bytes, header + 2)], [28, UInt16(IFLA_VFINFO_LIST) | nested])
            XCTAssertEqual([u16(bytes, header + 4), u16(bytes, header + 6)], [24, UInt16(IFLA_VF_INFO) | nested])
            XCTAssertEqual([u16(bytes, header + 8), u16(bytes, header + 10)], [20, UInt16(type)])
            XCTAssertEqual(Array(bytes[(header + 12)...]), RouteNetlink.vfGUIDPayload(vf: 3, guid: guid))
        }
    }

    /// The kernel parses our request and answers as for a driver without
    /// ndo_set_vf_guid: EOPNOTSUPP. The same attribute cut to 8 bytes fails the
    /// kernel's policy (ifla_vf_policy: .len = sizeof(struct ifla_vf_guid)) instead.
    func testTheKernelAcceptsTheRequestShape() throws {
        let scratch = try ScratchNamespace("vfguid")
        defer { scratch.remove() }
        try scratch.ip("link", "add", "name", "pfa", "type", "veth", "peer", "name", "pfb")
        let netlink = try RouteNetlink(in: NetworkNamespace.open(path: scratch.path))
        let link = try XCTUnwrap(try netlink.link(named: "pfa"))
        for setting in [VFSetting.nodeGUID(guid), .portGUID(guid)] {
            XCTAssertThrowsError(try netlink.setVirtualFunction(ofPF: link.index, device: "pfa", vf: 0, setting)) { error in
                XCTAssertEqual((error as? NetlinkError)?.errno, EOPNOTSUPP, "\(error)")
                XCTAssertTrue("\(error)".contains("set VF 0 \(setting)"), "\(error)")
            }
        }
        let malformed = try NetlinkMessage(type: Int(RTM_SETLINK))
        var header = ifinfomsg()
        header.ifi_index = link.index
        try malformed.appendHeader(header)
        try malformed.nested(Int(IFLA_VFINFO_LIST)) {
            try malformed.nested(Int(IFLA_VF_INFO)) {
                try malformed.put(Int(IFLA_VF_IB_NODE_GUID), bytes: Array(RouteNetlink.vfGUIDPayload(vf: 0, guid: guid)[0..<8]))
            }
        }
        XCTAssertThrowsError(try netlink.socket.request(malformed, operation: "malformed GUID", device: "pfa")) { error in
            let code = (error as? NetlinkError)?.errno
            XCTAssertNotEqual(code, EOPNOTSUPP, "\(error)")
            XCTAssertTrue(code == ERANGE || code == EINVAL, "\(error)")
        }
    }

    func testVFTableGUIDsAreRead() throws {
        func attribute(_ type: Int32, _ payload: [UInt8]) -> [UInt8] {
            let length = 4 + payload.count
            return withUnsafeBytes(of: UInt16(length), Array.init) + withUnsafeBytes(of: UInt16(type), Array.init) + payload
                + [UInt8](repeating: 0, count: (4 - length % 4) % 4)
        }
        var mac = ifla_vf_mac()
        mac.vf = 5
        let buffer = attribute(Int32(IFLA_VF_MAC), withUnsafeBytes(of: mac, Array.init))
            + attribute(Int32(IFLA_VF_IB_NODE_GUID), RouteNetlink.vfGUIDPayload(vf: 5, guid: guid))
            + attribute(Int32(IFLA_VF_IB_PORT_GUID), RouteNetlink.vfGUIDPayload(vf: 5, guid: guid + 1))
        let info = try XCTUnwrap(VirtualFunctionInfo(attributes: Attributes(buffer[...])))
        XCTAssertEqual(info.index, 5)
        XCTAssertEqual(info.nodeGUID, guid)
        XCTAssertEqual(info.portGUID, guid + 1)
        XCTAssertEqual(VFSetting.nodeGUID(guid).description, "node_guid 02:11:22:33:44:55:66:77")
    }

    private func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 { UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8 }
    private func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
}
