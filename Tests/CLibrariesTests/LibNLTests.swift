import CNL
import XCTest

final class LibNLTests: XCTestCase {
    struct Link: Equatable { var mtu: Int; var mac: String }

    /// A libnl-route link dump lists every interface in /sys/class/net, with the
    /// same MTU and hardware address, and includes `lo` and `eth0`.
    func testLinkDumpMatchesSysfs() throws {
        let socket = try XCTUnwrap(nl_socket_alloc())
        defer { nl_socket_free(socket) }
        XCTAssertEqual(nl_connect(socket, NETLINK_ROUTE), 0)

        var cache: OpaquePointer?
        XCTAssertEqual(rtnl_link_alloc_cache(socket, AF_UNSPEC, &cache), 0)
        defer { nl_cache_free(cache) }

        var dumped: [String: Link] = [:]
        var object = nl_cache_get_first(cache)
        while let current = object {
            let link = current  // struct nl_object * and struct rtnl_link * are both opaque here
            let name = String(cString: rtnl_link_get_name(link))
            var mac = ""
            if let address = rtnl_link_get_addr(link), let bytes = nl_addr_get_binary_addr(address) {
                let length = Int(nl_addr_get_len(address))
                mac = UnsafeRawBufferPointer(start: bytes, count: length)
                    .map { String(format: "%02x", $0) }.joined(separator: ":")
            }
            dumped[name] = Link(mtu: Int(rtnl_link_get_mtu(link)), mac: mac)
            object = nl_cache_get_next(current)
        }

        let names = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")
        XCTAssertEqual(Set(dumped.keys), Set(names))
        for name in ["lo", "eth0"] {
            XCTAssertNotNil(dumped[name], "libnl did not list \(name)")
        }
        for name in names {
            let expected = Link(
                mtu: Int(Host.sysfs("/sys/class/net/\(name)/mtu") ?? "") ?? -1,
                mac: Host.sysfs("/sys/class/net/\(name)/address") ?? ""
            )
            XCTAssertEqual(dumped[name], expected, "link \(name)")
        }
    }
}
