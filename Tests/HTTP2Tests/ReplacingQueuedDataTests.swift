import HPACK
@testable import HTTP2
import XCTest

/// `sendDataReplacingQueued`: a stream whose messages supersede each other keeps
/// only the newest unsent one, and never tears the one being written.
final class ReplacingQueuedDataTests: XCTestCase {
    func testOnlyTheNewestUnbegunMessageStaysQueued() throws {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        _ = server.receive(peer.headers(1, FramePeer.request, endStream: true))
        _ = server.takeOutbound()
        try server.sendHeaders([HeaderField(name: ":status", value: "200")], on: 1, endStream: false)
        // 70,000 bytes against a 65,535-byte window: the first message is cut mid-way.
        try server.sendDataReplacingQueued([UInt8](repeating: 1, count: 70_000), on: 1)
        try server.sendDataReplacingQueued([UInt8](repeating: 2, count: 300), on: 1)
        try server.sendDataReplacingQueued([UInt8](repeating: 3, count: 200), on: 1)
        XCTAssertEqual(server.pendingDataBytes(on: 1), 70_000 - 65_535 + 200)
        XCTAssertEqual(server.queuedDataBytes, 70_000 - 65_535 + 200)
        _ = peer.frames(server.takeOutbound())

        _ = server.receive(FramePeer.windowUpdate(stream: 1, 100_000) + FramePeer.windowUpdate(stream: 0, 100_000))
        let data = peer.frames(server.takeOutbound()).filter { $0.type == .data }.flatMap(\.payload)
        // The rest of the first message, then the newest; the middle one is gone.
        XCTAssertEqual(data, [UInt8](repeating: 1, count: 70_000 - 65_535) + [UInt8](repeating: 3, count: 200))
        XCTAssertEqual(server.queuedDataBytes, 0)
    }

    func testAMessageWrittenWhollyIsNotKeptForReplacement() throws {
        var server = FramePeer.establishedServer()
        var peer = FramePeer()
        _ = server.receive(FramePeer.settings([(0x4, 0)]) + peer.headers(1, FramePeer.request, endStream: true))
        _ = server.takeOutbound()
        try server.sendHeaders([HeaderField(name: ":status", value: "200")], on: 1, endStream: false)
        // Window 0: nothing is begun, so each message replaces the one before entirely.
        for value in UInt8(1)...50 { try server.sendDataReplacingQueued([UInt8](repeating: value, count: 1000), on: 1) }
        XCTAssertEqual(server.pendingDataBytes(on: 1), 1000)
        _ = peer.frames(server.takeOutbound())
        _ = server.receive(FramePeer.windowUpdate(stream: 1, 10_000))
        let data = peer.frames(server.takeOutbound()).filter { $0.type == .data }.flatMap(\.payload)
        XCTAssertEqual(data, [UInt8](repeating: 50, count: 1000))
    }
}
