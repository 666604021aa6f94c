import XCTest
@testable import RDMAPerf

final class ControlMessageTests: XCTestCase {
    static let gid = GID(sysfsText: "0000:0000:0000:0000:0000:ffff:0a38:0001")!
    static let parameters = TestParameters(test: .write, sizes: .powersOfTwo(upTo: 65536), iterations: 1000, warmupIterations: 16)
    static let queuePair = QueuePairAddress(queuePairNumber: 0x11, packetSequenceNumber: 0xabcdef, lid: 0, mtu: 3, gid: gid)
    static let buffer = RemoteBuffer(rkey: 0x1234, address: 0x0000_55cb_2706_1000)

    func testHelloWithQueuePairEncodesToTheDocumentedBytes() {
        let bytes = ControlMessage.hello(Hello(parameters: Self.parameters, buffer: Self.buffer, queuePair: Self.queuePair)).encoded()
        XCTAssertEqual(bytes, [
            0x52, 0x4c, 0x41, 0x54, 0x01, 0x01, 0x00, 55,  // "RLAT", version 1, hello, 55 body bytes
            0x02, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,  // write, powers of two, 0, up to 65536
            0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x10,  // 1000 iterations, 16 warm-up
            0x00, 0x00, 0x12, 0x34,  // rkey
            0x00, 0x00, 0x55, 0xcb, 0x27, 0x06, 0x10, 0x00,  // address
            0x00, 0x00, 0x00, 0x11, 0x00, 0xab, 0xcd, 0xef,  // QPN, PSN
            0x00, 0x00, 0x03,  // LID, MTU
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 56, 0, 1,  // GID
        ])
    }

    func testEveryMessageRoundTrips() throws {
        let messages: [ControlMessage] = [
            .hello(Hello(parameters: Self.parameters, buffer: Self.buffer, queuePair: Self.queuePair)),
            .hello(Hello(parameters: TestParameters(test: .read, sizes: .single(1000), iterations: 5, warmupIterations: 0),
                         buffer: Self.buffer, queuePair: nil)),
            .ready(size: 8_388_608),
            .done,
        ]
        for message in messages {
            XCTAssertEqual(try ControlMessage.decode(message.encoded()), message)
        }
    }

    func testRDMACMHelloFitsTheConnectRequestsPrivateData() {
        // rdma_connect(3): at most 56 bytes of private data for an RC connect request.
        let hello = ControlMessage.hello(Hello(parameters: Self.parameters, buffer: Self.buffer, queuePair: nil)).encoded()
        XCTAssertEqual(hello.count, 36)
        XCTAssertLessThanOrEqual(hello.count, 56)
    }

    func testTrailingPaddingAfterAMessageIsIgnored() throws {
        // Private data arrives zero-padded to the CM message's size.
        let hello = ControlMessage.hello(Hello(parameters: Self.parameters, buffer: Self.buffer, queuePair: nil))
        XCTAssertEqual(try ControlMessage.decode(hello.encoded() + [UInt8](repeating: 0, count: 20)), hello)
    }

    func testAPeerThatIsNotRDMALatIsNamed() {
        // perftest's side channel opens with its text address ("0000:000011:...").
        let perftest = Array("0000:000011:abcdef:".utf8)
        XCTAssertThrowsError(try ControlMessage.decode(perftest)) { error in
            XCTAssertEqual(error as? ControlMessageError, .notRDMALat(magic: 0x3030_3030))
            XCTAssertTrue("\(error)".contains("is it perftest?"), "\(error)")
        }
    }

    func testOtherVersionsAndKindsAreRejected() {
        var bytes = ControlMessage.done.encoded()
        bytes[4] = 2
        XCTAssertThrowsError(try ControlMessage.decode(bytes)) { XCTAssertEqual($0 as? ControlMessageError, .unsupportedVersion(2)) }
        bytes = ControlMessage.done.encoded()
        bytes[5] = 9
        XCTAssertThrowsError(try ControlMessage.decode(bytes)) { XCTAssertEqual($0 as? ControlMessageError, .unknownKind(9)) }
    }

    func testTruncatedMessagesSayHowMuchIsMissing() {
        let bytes = ControlMessage.ready(size: 64).encoded()
        XCTAssertThrowsError(try ControlMessage.decode(Array(bytes.prefix(10)))) {
            XCTAssertEqual($0 as? ControlMessageError, .truncated(needed: 12, available: 10))
        }
        XCTAssertThrowsError(try ControlMessage.decode(Array(bytes.prefix(3)))) {
            XCTAssertEqual($0 as? ControlMessageError, .truncated(needed: 8, available: 3))
        }
        // A hello whose queue-pair part is cut short is not taken for one without it.
        let hello = ControlMessage.hello(Hello(parameters: Self.parameters, buffer: Self.buffer, queuePair: Self.queuePair)).encoded()
        var cut = Array(hello.prefix(hello.count - 5))
        cut[7] -= 5
        XCTAssertThrowsError(try ControlMessage.decode(cut)) {
            XCTAssertEqual($0 as? ControlMessageError, .truncated(needed: 55, available: 50))
        }
    }

    func testInvalidTestAndSizeKindsAreRejected() {
        var bytes = ControlMessage.hello(Hello(parameters: Self.parameters, buffer: Self.buffer, queuePair: nil)).encoded()
        bytes[8] = 7
        XCTAssertThrowsError(try ControlMessage.decode(bytes)) {
            XCTAssertEqual($0 as? ControlMessageError, .invalidField(name: "test", value: 7))
        }
        bytes[8] = 1
        bytes[9] = 3
        XCTAssertThrowsError(try ControlMessage.decode(bytes)) {
            XCTAssertEqual($0 as? ControlMessageError, .invalidField(name: "size kind", value: 3))
        }
    }

    func testBodyLengthComesFromTheHeader() throws {
        let bytes = ControlMessage.ready(size: 2).encoded()
        XCTAssertEqual(try ControlMessage.bodyLength(ofHeader: Array(bytes.prefix(8))), 4)
    }
}
