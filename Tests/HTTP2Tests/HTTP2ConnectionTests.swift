import HPACK
@testable import HTTP2
import XCTest

final class HTTP2ConnectionTests: XCTestCase {
    // MARK: Connection start (RFC 9113 §3.4)

    func testServerSendsSettingsAndConnectionWindowAtOnce() {
        var server = HTTP2Connection(role: .server)
        var peer = FramePeer()
        let frames = peer.frames(server.takeOutbound())
        XCTAssertEqual(frames.map(\.type), [.settings, .windowUpdate])
        // MAX_CONCURRENT_STREAMS 1000, MAX_HEADER_LIST_SIZE 65536; the rest are defaults.
        XCTAssertEqual(frames[0].payload, [0x00, 0x03, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00])
        XCTAssertEqual(frames[1].payload, [0x00, 0x0f, 0x00, 0x01])  // 1 MiB - 65535
    }

    func testClientStartsWithPrefaceThenSettingsWithoutPush() {
        var client = HTTP2Connection(role: .client)
        let bytes = client.takeOutbound()
        XCTAssertEqual(Array(bytes.prefix(24)), http2ClientPreface)
        var peer = FramePeer()
        let frames = peer.frames(Array(bytes.dropFirst(24)))
        XCTAssertEqual(frames.first?.type, .settings)
        XCTAssertTrue(frames[0].payload.starts(with: [0x00, 0x02, 0x00, 0x00, 0x00, 0x00]))  // ENABLE_PUSH 0
    }

    func testBadPrefaceIsAProtocolError() {
        var server = HTTP2Connection(role: .server)
        _ = server.takeOutbound()
        let events = server.receive(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertEqual(events, [.connectionError(HTTP2ConnectionError(.protocolError, "invalid connection preface"))])
        var peer = FramePeer()
        XCTAssertEqual(peer.frames(server.takeOutbound()).map(\.errorCode), [.protocolError])
        XCTAssertTrue(server.isClosed)
    }

    func testWrongPrefaceFailsBeforeTwentyFourBytes() {
        var server = HTTP2Connection(role: .server)
        _ = server.takeOutbound()
        let events = server.receive(Array("GET /".utf8))
        XCTAssertEqual(events, [.connectionError(HTTP2ConnectionError(.protocolError, "invalid connection preface"))])
        var peer = FramePeer()
        XCTAssertEqual(peer.frames(server.takeOutbound()).map(\.errorCode), [.protocolError])
        XCTAssertTrue(server.isClosed)
    }

    func testPrefaceInPiecesIsAccepted() {
        var server = HTTP2Connection(role: .server)
        XCTAssertEqual(server.receive(http2ClientPreface.prefix(5)), [])
        XCTAssertEqual(server.receive(http2ClientPreface[5..<23]), [])
        XCTAssertFalse(server.isClosed)
        XCTAssertEqual(server.receive(http2ClientPreface.suffix(1) + FramePeer.frame(0x4, stream: 0, [])), [.ready])
    }

    func testFirstFrameMustBeSettings() {
        var server = HTTP2Connection(role: .server)
        let events = server.receive(http2ClientPreface + FramePeer.frame(0x6, stream: 0, [UInt8](repeating: 0, count: 8)))
        guard case .connectionError(let error) = events.last else { return XCTFail("\(events)") }
        XCTAssertEqual(error.code, .protocolError)
    }

    func testSettingsAreAcknowledgedAndPingsEchoed() {
        var server = HTTP2Connection(role: .server)
        _ = server.takeOutbound()
        let ping: [UInt8] = [2, 4, 16, 16, 9, 14, 7, 7]  // grpc-go's BDP ping
        XCTAssertEqual(server.receive(http2ClientPreface + FramePeer.settings([(0xfe03, 1)]) + FramePeer.frame(0x6, stream: 0, ping)), [.ready])
        var peer = FramePeer()
        let frames = peer.frames(server.takeOutbound())
        XCTAssertEqual(frames, [Frame(type: .settings, flags: .ack, stream: 0), Frame(type: .ping, flags: .ack, stream: 0, payload: ping)])
        // A PING ACK is not answered.
        _ = server.receive(FramePeer.frame(0x6, flags: 0x1, stream: 0, ping))
        XCTAssertEqual(server.takeOutbound(), [])
    }

    // MARK: Frame-level errors (§4.2, §6)

    func testOversizedFrameIsAFrameSizeError() {
        var server = FramePeer.establishedServer()
        let events = server.receive(FramePeer.frame(0x0, stream: 1, [UInt8](repeating: 0, count: 16_385)))
        guard case .connectionError(let error) = events.last else { return XCTFail("\(events)") }
        XCTAssertEqual(error.code, .frameSizeError)
    }

    func testMalformedControlFramesGetTheirPrescribedErrors() {
        let cases: [([UInt8], HTTP2ErrorCode)] = [
            (FramePeer.frame(0x6, stream: 0, [1, 2, 3]), .frameSizeError),           // PING not 8 bytes
            (FramePeer.frame(0x6, stream: 1, [UInt8](repeating: 0, count: 8)), .protocolError),  // PING on a stream
            (FramePeer.frame(0x4, stream: 0, [0, 1, 0]), .frameSizeError),           // SETTINGS not a multiple of 6
            (FramePeer.frame(0x4, flags: 0x1, stream: 0, [0, 0, 0, 0, 0, 0]), .frameSizeError),  // ACK with payload
            (FramePeer.settings([(0x2, 2)]), .protocolError),                        // ENABLE_PUSH 2
            (FramePeer.settings([(0x4, 0x8000_0000)]), .flowControlError),           // window > 2^31-1
            (FramePeer.settings([(0x5, 100)]), .protocolError),                      // MAX_FRAME_SIZE too small
            (FramePeer.windowUpdate(stream: 0, 0), .protocolError),
            (FramePeer.rstStream(0, .cancel), .protocolError),
            (FramePeer.rstStream(9, .cancel), .protocolError),                       // idle stream
            (FramePeer.frame(0x9, stream: 1, []), .protocolError),                   // CONTINUATION alone
            (FramePeer.frame(0x5, stream: 1, [0, 0, 0, 2]), .protocolError),          // PUSH_PROMISE
            (FramePeer.data(0, [1]), .protocolError),
            (FramePeer.data(5, [1]), .protocolError),                                // DATA on an idle stream
        ]
        for (bytes, code) in cases {
            var server = FramePeer.establishedServer()
            let events = server.receive(bytes)
            guard case .connectionError(let error) = events.last else { XCTFail("\(bytes): \(events)"); continue }
            XCTAssertEqual(error.code, code, error.reason)
            var peer = FramePeer()
            XCTAssertEqual(peer.frames(server.takeOutbound()).last?.errorCode, code)
        }
    }

    func testUnknownFramesSettingsAndPriorityAreIgnored() {
        var server = FramePeer.establishedServer()
        let events = server.receive(FramePeer.frame(0xfa, stream: 0, [1, 2, 3]) + FramePeer.settings([(0x99, 7)])
                                    + FramePeer.frame(0x2, stream: 3, [0, 0, 0, 1, 16]))
        XCTAssertEqual(events, [])
        var peer = FramePeer()
        XCTAssertEqual(peer.frames(server.takeOutbound()), [Frame(type: .settings, flags: .ack, stream: 0)])
    }

    // MARK: Requests, header blocks (§6.2, §6.10, §8)

    func testRequestSplitOverContinuationFrames() throws {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        let full = peer.headers(1, FramePeer.request, endHeaders: false)
        let block = Array(full.dropFirst(9))
        let first = FramePeer.frame(0x1, stream: 1, Array(block.prefix(10)))
        let second = FramePeer.frame(0x9, stream: 1, Array(block.dropFirst(10).prefix(10)))
        let third = FramePeer.frame(0x9, flags: 0x4, stream: 1, Array(block.dropFirst(20)))
        XCTAssertEqual(server.receive(first + second), [])
        let events = server.receive(third)
        XCTAssertEqual(events, [.headers(stream: 1, fields: FramePeer.request.map { HeaderField(name: $0.0, value: $0.1) }, endStream: false)])
    }

    func testFrameInsideAHeaderBlockIsAProtocolError() {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        let events = server.receive(peer.headers(1, FramePeer.request, endHeaders: false) + FramePeer.frame(0x6, stream: 0, [UInt8](repeating: 0, count: 8)))
        guard case .connectionError(let error) = events.last else { return XCTFail("\(events)") }
        XCTAssertEqual(error.code, .protocolError)
    }

    func testPaddedHeadersAndData() {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        let block = Array(peer.headers(1, FramePeer.request).dropFirst(9))
        let headers = FramePeer.frame(0x1, flags: 0x4 | 0x8 | 0x20, stream: 1, [3] + [0, 0, 0, 0, 16] + block + [0, 0, 0])
        let data = FramePeer.frame(0x0, flags: 0x1 | 0x8, stream: 1, [2, 0xaa, 0xbb, 0, 0])
        let events = server.receive(headers + data)
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events.last, .data(stream: 1, bytes: [0xaa, 0xbb], endStream: true))
        // Padding longer than the frame is a connection error.
        let bad = server.receive(FramePeer.frame(0x0, flags: 0x8, stream: 1, [9, 1]))
        guard case .connectionError(let error) = bad.last else { return XCTFail("\(bad)") }
        XCTAssertEqual(error.code, .protocolError)
    }

    func testMalformedRequestsAreResetWithProtocolError() {
        let malformed: [[(String, String)]] = [
            [(":method", "POST"), (":path", "/x")],                                  // no :scheme
            FramePeer.request + [(":status", "200")],                               // response pseudo-header
            [("content-type", "application/grpc")] + FramePeer.request,             // pseudo after regular
            FramePeer.request + [("connection", "keep-alive")],
            FramePeer.request + [("te", "gzip")],
            FramePeer.request + [("Content-Type", "x")],
            FramePeer.request + [(":path", "/again")],
        ]
        for fields in malformed {
            var server = FramePeer.establishedServer()
            var peer = FramePeer()
            XCTAssertEqual(server.receive(peer.headers(1, fields)), [], "\(fields)")
            XCTAssertEqual(peer.frames(server.takeOutbound()).map(\.errorCode), [.protocolError], "\(fields)")
            XCTAssertFalse(server.isClosed)
        }
    }

    func testStreamsAboveTheConcurrencyLimitAreRefused() {
        var configuration = HTTP2Connection.Configuration()
        configuration.maxConcurrentStreams = 2
        var server = FramePeer.establishedServer(configuration)
        var peer = FramePeer()
        let events = server.receive(peer.headers(1, FramePeer.request) + peer.headers(3, FramePeer.request) + peer.headers(5, FramePeer.request))
        XCTAssertEqual(events.count, 2)
        let frames = peer.frames(server.takeOutbound())
        XCTAssertEqual(frames.map(\.stream), [5])
        XCTAssertEqual(frames.map(\.errorCode), [.refusedStream])
    }

    func testEvenStreamFromClientAndReusedStreamAreConnectionErrors() {
        for ids: [UInt32] in [[2], [3, 1]] {
            var server = FramePeer.establishedServer()
            var peer = FramePeer()
            var bytes: [UInt8] = []
            for id in ids { bytes += peer.headers(id, FramePeer.request, endStream: true) }
            let events = server.receive(bytes)
            guard case .connectionError = events.last else { XCTFail("\(ids): \(events)"); continue }
        }
    }

    func testDataOnAClosedStreamIsAStreamError() {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        _ = server.receive(peer.headers(1, FramePeer.request) + FramePeer.data(1, [0], endStream: true))
        try? server.sendHeaders([HeaderField(name: ":status", value: "200")], on: 1, endStream: true)
        _ = server.takeOutbound()
        XCTAssertEqual(server.receive(FramePeer.data(1, [1, 2])), [])
        XCTAssertEqual(peer.frames(server.takeOutbound()).map(\.errorCode), [.streamClosed])
        XCTAssertFalse(server.isClosed)
    }

    // MARK: Flow control (§5.2, §6.9)

    func testDataWaitsForCreditAndFramesNeverExceed16384() throws {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        _ = server.receive(FramePeer.settings([(0x5, 1 << 20)]) + peer.headers(1, FramePeer.request, endStream: true))
        _ = server.takeOutbound()
        try server.sendHeaders([HeaderField(name: ":status", value: "200")], on: 1, endStream: false)
        try server.sendData([UInt8](repeating: 7, count: 100_000), on: 1, endStream: false)
        try server.sendHeaders([HeaderField(name: "grpc-status", value: "0")], on: 1, endStream: true)
        var frames = peer.frames(server.takeOutbound())
        let firstData = frames.filter { $0.type == .data }
        XCTAssertEqual(firstData.map(\.payload.count), [16_384, 16_384, 16_384, 16_383])  // 65535 stream window
        XCTAssertEqual(frames.filter { $0.type == .headers }.count, 1)  // trailers wait behind the data
        XCTAssertEqual(server.pendingDataBytes(on: 1), 100_000 - 65_535)

        XCTAssertEqual(server.receive(FramePeer.windowUpdate(stream: 1, 100_000) + FramePeer.windowUpdate(stream: 0, 100_000)),
                       [.windowOpened, .windowOpened])
        frames = peer.frames(server.takeOutbound())
        XCTAssertEqual(frames.filter { $0.type == .data }.map(\.payload.count).reduce(0, +), 100_000 - 65_535)
        XCTAssertEqual(frames.last?.type, .headers)
        XCTAssertTrue(frames.last?.flags.contains(.endStream) ?? false)
        XCTAssertFalse(server.isOpen(1))
    }

    func testInitialWindowSizeChangeAppliesToOpenStreams() throws {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        _ = server.receive(peer.headers(1, FramePeer.request, endStream: true))
        try server.sendHeaders([HeaderField(name: ":status", value: "200")], on: 1, endStream: false)
        try server.sendData([UInt8](repeating: 1, count: 60_000), on: 1, endStream: false)
        _ = server.takeOutbound()
        // Shrink to 1000: the stream window goes to 1000 - 60000, negative (§6.9.2).
        _ = server.receive(FramePeer.settings([(0x4, 1000)]))
        try server.sendData([UInt8](repeating: 2, count: 10), on: 1, endStream: false)
        XCTAssertEqual(peer.frames(server.takeOutbound()).filter { $0.type == .data }, [])
        // Growing back by 59_010 leaves exactly 10 bytes of credit.
        _ = server.receive(FramePeer.settings([(0x4, 60_010)]))
        XCTAssertEqual(peer.frames(server.takeOutbound()).filter { $0.type == .data }.map(\.payload.count), [10])
    }

    func testWindowOverflowIsAFlowControlError() {
        var server = FramePeer.establishedServer()
        var events = server.receive(FramePeer.windowUpdate(stream: 0, 0x7fff_ffff))
        guard case .connectionError(let error) = events.last else { return XCTFail("\(events)") }
        XCTAssertEqual(error.code, .flowControlError)

        server = FramePeer.establishedServer()
        var peer = FramePeer()
        events = server.receive(peer.headers(1, FramePeer.request) + FramePeer.windowUpdate(stream: 1, 0x7fff_ffff))
        XCTAssertEqual(events.last, .streamError(stream: 1, code: .flowControlError, reason: "window of stream 1 overflows 2^31-1"))
        XCTAssertEqual(peer.frames(server.takeOutbound()).compactMap(\.errorCode), [.flowControlError])
    }

    func testReceivedDataReturnsCreditAtBothLevels() {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        _ = server.receive(peer.headers(1, FramePeer.request))
        // A quarter of the 65535 stream window triggers a stream WINDOW_UPDATE.
        _ = server.receive(FramePeer.data(1, [UInt8](repeating: 0, count: 16_384)))
        let updates = peer.frames(server.takeOutbound()).filter { $0.type == .windowUpdate }
        XCTAssertEqual(updates.map(\.stream), [1])
        XCTAssertEqual(updates.first?.payload, [0, 0, 0x40, 0])
        // Far more than the windows in total, as a long-lived kubelet connection sends.
        for _ in 0..<200 {
            let events = server.receive(FramePeer.data(1, [UInt8](repeating: 0, count: 16_000)))
            guard case .data = events.first else { return XCTFail("\(events)") }
        }
        XCTAssertFalse(server.isClosed)
    }

    func testDataBeyondTheStreamWindowIsAStreamError() {
        var configuration = HTTP2Connection.Configuration()
        configuration.initialWindowSize = 100
        var server = FramePeer.establishedServer(configuration)
        var peer = FramePeer()
        let events = server.receive(peer.headers(1, FramePeer.request) + FramePeer.data(1, [UInt8](repeating: 0, count: 101)))
        XCTAssertEqual(events.last, .streamError(stream: 1, code: .flowControlError, reason: "DATA of 101 bytes exceeds the stream window 100"))
    }

    // MARK: RST_STREAM and GOAWAY (§6.4, §6.8)

    func testPeerResetIsReportedAndLateFramesIgnored() {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        _ = server.receive(peer.headers(1, FramePeer.request))
        XCTAssertEqual(server.receive(FramePeer.rstStream(1, .cancel)), [.streamReset(stream: 1, code: .cancel)])
        XCTAssertFalse(server.isOpen(1))
        server.resetStream(3, code: .cancel)
        _ = server.takeOutbound()
        XCTAssertEqual(server.receive(FramePeer.data(1, [1]) + FramePeer.rstStream(1, .cancel)), [])
    }

    func testGracefulGoAwayNamesTheLastStreamAndIgnoresNewOnes() {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        _ = server.receive(peer.headers(1, FramePeer.request))
        server.goAway()
        let frames = peer.frames(server.takeOutbound())
        XCTAssertEqual(frames.map(\.type), [.goAway])
        XCTAssertEqual(frames[0].payload, [0, 0, 0, 1, 0, 0, 0, 0])
        XCTAssertEqual(server.receive(peer.headers(3, FramePeer.request)), [])
        XCTAssertTrue(server.isOpen(1))
        XCTAssertFalse(server.isClosed)
    }

    // MARK: Both roles together

    func testClientAndServerExchangeARequestAndResponse() throws {
        var client = HTTP2Connection(role: .client)
        var server = HTTP2Connection(role: .server)
        let request = FramePeer.request.map { HeaderField(name: $0.0, value: $0.1) }
        let id = try client.startStream(headers: request, endStream: false)
        try client.sendData([0, 0, 0, 0, 0], on: id, endStream: true)
        XCTAssertEqual(id, 1)

        var serverEvents = server.receive(client.takeOutbound())
        XCTAssertEqual(serverEvents, [.ready, .headers(stream: 1, fields: request, endStream: false),
                                      .data(stream: 1, bytes: [0, 0, 0, 0, 0], endStream: true)])
        try server.sendHeaders([HeaderField(name: ":status", value: "200"), HeaderField(name: "content-type", value: "application/grpc")], on: 1, endStream: false)
        try server.sendData([0, 0, 0, 0, 2, 8, 1], on: 1, endStream: false)
        try server.sendHeaders([HeaderField(name: "grpc-status", value: "0")], on: 1, endStream: true)
        let clientEvents = client.receive(server.takeOutbound())
        XCTAssertEqual(clientEvents, [
            .ready,
            .headers(stream: 1, fields: [HeaderField(name: ":status", value: "200"), HeaderField(name: "content-type", value: "application/grpc")], endStream: false),
            .data(stream: 1, bytes: [0, 0, 0, 0, 2, 8, 1], endStream: false),
            .headers(stream: 1, fields: [HeaderField(name: "grpc-status", value: "0")], endStream: true),
        ])
        serverEvents = server.receive(client.takeOutbound())  // the client's SETTINGS ACK
        XCTAssertEqual(serverEvents, [])
        XCTAssertEqual(client.openStreamCount, 0)
        XCTAssertEqual(server.openStreamCount, 0)
    }

    func testLargeHeaderBlocksAreSplitIntoContinuation() throws {
        var client = HTTP2Connection(role: .client)
        var server = HTTP2Connection(role: .server)
        _ = server.receive(client.takeOutbound())
        _ = client.receive(server.takeOutbound())
        let big = FramePeer.request.map { HeaderField(name: $0.0, value: $0.1) } + [HeaderField(name: "x-big", value: String(repeating: "~", count: 40_000))]
        _ = try client.startStream(headers: big, endStream: true)
        let bytes = client.takeOutbound()
        var peer = FramePeer()
        let types = peer.frames(bytes).map(\.type).filter { $0 != .settings }
        XCTAssertEqual(types.first, .headers)
        XCTAssertEqual(types.count, 3)  // 40 KB (`~` does not shrink under Huffman) in 16384-byte pieces
        XCTAssertTrue(types.dropFirst().allSatisfy { $0 == .continuation })
        XCTAssertEqual(server.receive(bytes).last, .headers(stream: 1, fields: big, endStream: true))
    }
}
