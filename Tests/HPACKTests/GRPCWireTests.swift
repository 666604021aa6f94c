import HPACK
import XCTest
import TestSupport

/// The header blocks grpc-go (x/net/http2/hpack) puts on the wire for kubelet's Allocate
/// calls and its server's replies (shared reference: kubelet-and-grpc.md §3.4). Our encoder
/// follows the same rules, so it must produce the same bytes.
final class GRPCWireTests: XCTestCase {
    private static let allocateRequest = fields([
        ":method": "POST", ":scheme": "http", ":path": "/v1beta1.DevicePlugin/Allocate",
        ":authority": "localhost", "content-type": "application/grpc",
        "user-agent": "grpc-go/1.82.1", "te": "trailers",
    ])
    private static let firstAllocateBlock = hex("""
        83 86 44 96 63 b8 63 2a 46 15 ef 97 b9 88 5d 74 5b 31 aa 62 1a 28 39 06 92 ff
        41 86 a0 e4 1d 13 9d 09 5f 8b 1d 75 d0 62 0d 26 3d 4c 4d 65 64
        7a 8a 9a ca c8 b4 c7 60 2b bc 25 c3 40 02 74 65 86 4d 83 35 05 b1 1f
        """)
    private static let secondAllocateBlock = hex("83 86 c2 c1 c0 bf be")

    private static let responseHeaders = fields([":status": "200", "content-type": "application/grpc"])
    private static let responseHeadersBlock = hex("88 5f 8b 1d 75 d0 62 0d 26 3d 4c 4d 65 64")
    private static let trailers = fields(["grpc-status": "0", "grpc-message": ""])
    private static let trailersBlock = hex("40 88 9a ca c8 b2 12 34 da 8f 01 30 40 89 9a ca c8 b5 25 42 07 31 7f 00")

    func testDecodesFirstAllocateRequestAndIndexesItsLiterals() throws {
        var decoder = HPACKDecoder()
        XCTAssertEqual(try decoder.decode(Self.firstAllocateBlock), Self.allocateRequest)
        XCTAssertEqual(decoder.dynamicTableEntries, fields([
            "te": "trailers", "user-agent": "grpc-go/1.82.1", "content-type": "application/grpc",
            ":authority": "localhost", ":path": "/v1beta1.DevicePlugin/Allocate",
        ]))
    }

    func testDecodesSecondIdenticalAllocateFromDynamicTable() throws {
        var decoder = HPACKDecoder()
        _ = try decoder.decode(Self.firstAllocateBlock)
        let sizeAfterFirst = decoder.dynamicTableSize
        XCTAssertEqual(try decoder.decode(Self.secondAllocateBlock), Self.allocateRequest)
        XCTAssertEqual(decoder.dynamicTableSize, sizeAfterFirst)
    }

    func testEncodesAllocateRequestsExactlyAsGrpcGo() {
        var encoder = HPACKEncoder()
        XCTAssertEqual(encoder.encode(Self.allocateRequest), Self.firstAllocateBlock)
        XCTAssertEqual(encoder.encode(Self.allocateRequest), Self.secondAllocateBlock)
    }

    func testDecodesServerResponseHeadersThenTrailers() throws {
        var decoder = HPACKDecoder()
        XCTAssertEqual(try decoder.decode(Self.responseHeadersBlock), Self.responseHeaders)
        XCTAssertEqual(try decoder.decode(Self.trailersBlock), Self.trailers)
        XCTAssertEqual(decoder.dynamicTableEntries, fields([
            "grpc-message": "", "grpc-status": "0", "content-type": "application/grpc",
        ]))
        // The next response on the connection refers to all three entries.
        XCTAssertEqual(try decoder.decode([0x88, 0xc0]), Self.responseHeaders)
        XCTAssertEqual(try decoder.decode([0xbf, 0xbe]), Self.trailers)
    }

    func testEncodesServerResponseHeadersAndTrailersExactlyAsGrpcGo() {
        var encoder = HPACKEncoder()
        XCTAssertEqual(encoder.encode(Self.responseHeaders), Self.responseHeadersBlock)
        XCTAssertEqual(encoder.encode(Self.trailers), Self.trailersBlock)
        XCTAssertEqual(encoder.encode(Self.responseHeaders), [0x88, 0xc0])
        XCTAssertEqual(encoder.encode(Self.trailers), [0xbf, 0xbe])
    }
}
