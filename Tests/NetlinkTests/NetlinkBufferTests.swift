import Foundation
import NetnsTestSupport
import XCTest

@testable import Netlink

/// Replies are received in one recv(2) each into a buffer of the socket's; one that does
/// not fit (a PF with hundreds of VFs) is drained and asked for again with room for it.
final class NetlinkBufferTests: XCTestCase {
    func testRepliesLargerThanTheBufferAreAskedForAgain() throws {
        let scratch = try ScratchNamespace("nlbuf")
        defer { scratch.remove() }
        for index in 0..<6 {
            try scratch.ip("link", "add", "name", "va\(index)", "type", "veth", "peer", "name", "vb\(index)")
        }
        let namespace = try NetworkNamespace.open(path: scratch.path)
        let roomy = try RouteNetlink(in: namespace)
        let expected = try roomy.links().map(\.name).sorted()
        XCTAssertEqual(expected.count, 13)  // lo and 6 pairs

        // 256 bytes hold no RTM_NEWLINK: every dump and every single reply is truncated once.
        let tight = try RouteNetlink(in: namespace, bufferSize: 256)
        XCTAssertEqual(try tight.links().map(\.name).sorted(), expected)
        XCTAssertEqual(try tight.link(named: "va3")?.name, "va3")
        // The socket is in step afterwards: a request, then a dump, then a change.
        XCTAssertNil(try tight.link(named: "nosuch0"))
        XCTAssertEqual(try tight.links().count, 13)
        try tight.setLink(index: try XCTUnwrap(try tight.link(named: "va0")).index, device: "va0", LinkChange(up: true))
        XCTAssertEqual(try roomy.link(named: "va0")?.isUp, true)
    }
}
