import DevicePluginAPI
@testable import GRPC
import Synchronization
import TestSupport
import XCTest

/// The server's bounds under peers that stall, flood or never read, on real Unix sockets.
final class ServerLimitsTests: XCTestCase {
    private var files: ScratchDirectory?
    private var directory: String { files!.path }

    override func setUpWithError() throws { files = try ScratchDirectory("limits") }
    override func tearDown() { files = nil }

    private func makeServer(router: GRPCRouter? = nil, _ configure: (inout GRPCServer.Configuration) -> Void) throws -> GRPCServer {
        var configuration = GRPCServer.Configuration()
        configure(&configuration)
        var defaultRouter = GRPCRouter()
        defaultRouter.register(DevicePluginService.getDevicePluginOptions) { _, _ in DevicePluginOptions(preStartRequired: true, getPreferredAllocationAvailable: false) }
        return try GRPCServer(socketPath: directory + "/dp.sock", router: router ?? defaultRouter, configuration: configuration)
    }

    private func assertServes(_ server: GRPCServer, file: StaticString = #filePath, line: UInt = #line) async throws {
        let options = try await GRPCClient.unary(socketPath: server.socketPath, method: DevicePluginService.getDevicePluginOptions,
                                                 request: Empty(), timeout: .seconds(10))
        XCTAssertTrue(options.preStartRequired, file: file, line: line)
    }

    func testConnectionOverTheLimitIsClosedAtOnceWithGoAway() async throws {
        let server = try makeServer { $0.maxConnections = 2 }
        defer { server.stop() }
        let first = try RawHTTP2Client(path: server.socketPath)
        let second = try RawHTTP2Client(path: server.socketPath)
        try first.send(RawHTTP2Client.preface)
        try second.send(RawHTTP2Client.preface)
        XCTAssertTrue(eventually { server.connectionCount == 2 })

        let third = try RawHTTP2Client(path: server.socketPath)
        let received = try XCTUnwrap(third.readUntilClosed(within: .seconds(5)))
        XCTAssertEqual(RawHTTP2Client.goAwayCode(in: received), 0xb)  // ENHANCE_YOUR_CALM
        XCTAssertEqual(server.connectionCount, 2)
        third.close()

        first.close()
        XCTAssertTrue(eventually { server.connectionCount == 1 })
        try await assertServes(server)
        second.close()
    }

    func testSilentAndByteAtATimeConnectionsAreCutAtTheHandshakeDeadline() throws {
        let server = try makeServer { $0.handshakeTimeout = .milliseconds(300) }
        defer { server.stop() }
        let started = ContinuousClock.now
        let silent = try RawHTTP2Client(path: server.socketPath)
        let trickle = try RawHTTP2Client(path: server.socketPath)
        defer { silent.close(); trickle.close() }
        // One byte of the preface every 50 ms: it would take 1.65 s to finish.
        let sender = Task.detached {
            for byte in RawHTTP2Client.preface {
                guard (try? trickle.send([byte])) != nil else { return }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        defer { sender.cancel() }
        let fromSilent = try XCTUnwrap(silent.readUntilClosed(within: .seconds(5)))
        XCTAssertEqual(RawHTTP2Client.goAwayCode(in: fromSilent), 0x4)  // SETTINGS_TIMEOUT
        let fromTrickle = try XCTUnwrap(trickle.readUntilClosed(within: .seconds(5)))
        XCTAssertEqual(RawHTTP2Client.goAwayCode(in: fromTrickle), 0x4)
        let elapsed = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(300))
        XCTAssertLessThan(elapsed, .milliseconds(1500))
        XCTAssertTrue(eventually { server.connectionCount == 0 })
    }

    func testBytesQueuedForAllConnectionsTogetherAreCapped() async throws {
        let cap = 1 << 20
        let server = try makeServer { $0.maxQueuedBytes = cap }
        defer { server.stop() }
        // Each client sends 1.5 MiB of PINGs and never reads the ACKs: alone, each
        // stays under the 16 MiB per-connection cap.
        let ping = RawHTTP2Client.frame(type: 0x6, stream: 0, [1, 2, 3, 4, 5, 6, 7, 8])
        let burst = Array([[UInt8]](repeating: ping, count: 4096).joined())
        var clients: [RawHTTP2Client] = []
        var cut = 0
        for _ in 0..<4 {
            let client = try RawHTTP2Client(path: server.socketPath)
            clients.append(client)
            do {
                try client.send(RawHTTP2Client.preface)
                for _ in 0..<(3 << 19) / burst.count { try client.send(burst) }
            } catch {
                cut += 1
            }
            XCTAssertLessThanOrEqual(server.queuedBytes, cap)
        }
        defer { for client in clients { client.close() } }
        // ~200 KiB of each connection's ACKs sit in its socket; the rest is queued, so
        // no two connections fit under the cap together.
        XCTAssertTrue(eventually { server.connectionCount <= 1 }, "\(server.connectionCount) connections, \(cut) cut while sending")
        XCTAssertLessThanOrEqual(server.queuedBytes, cap)
        try await assertServes(server)
    }

    func testLatestOnlyStreamHoldsOnlyTheNewestMessageForAPeerThatDoesNotRead() throws {
        let sent = Sent()
        var router = GRPCRouter()
        let padding = String(repeating: "x", count: 1000)
        router.registerStreaming(DevicePluginService.listAndWatch, coalescing: .latestOnly) { _, stream, _ in
            for index in 0..<2000 {
                try await stream.send(ListAndWatchResponse(devices: [Device(id: "\(index)-\(padding)", health: DeviceHealth.healthy)]))
                sent.count.store(index + 1, ordering: .relaxed)
            }
            try await Task.sleep(for: .seconds(3600))
        }
        let server = try makeServer(router: router) { _ in }
        defer { server.stop() }
        let client = try RawHTTP2Client(path: server.socketPath)
        defer { client.close() }
        // SETTINGS_INITIAL_WINDOW_SIZE 0 (RFC 9113 §6.5.2): the server may send no DATA.
        let settings = RawHTTP2Client.frame(type: 0x4, stream: 0, [0x00, 0x04] + RawHTTP2Client.bigEndian(0))
        try client.send(Array(RawHTTP2Client.preface.prefix(24)) + settings
                        + RawHTTP2Client.request(path: DevicePluginService.listAndWatch.path, stream: 1))

        // 2 MB of messages, twice the stream's high-water mark: a stream that kept
        // them all would have made the handler wait.
        XCTAssertTrue(eventually { sent.count.load(ordering: .relaxed) == 2000 }, "sent \(sent.count.load(ordering: .relaxed))")
        XCTAssertTrue(eventually { server.queuedBytes < 2 * 1100 }, "\(server.queuedBytes) bytes queued")

        try client.send(RawHTTP2Client.frame(type: 0x8, stream: 1, RawHTTP2Client.bigEndian(1 << 20)))
        let frames = client.readFrames(within: .seconds(5)) { frames in
            frames.filter { $0.type == 0x0 }.reduce(0) { $0 + $1.payload.count } >= 1005
        }
        let data = frames.filter { $0.type == 0x0 && $0.stream == 1 }.flatMap(\.payload)
        let length = data.count >= 5 ? Int(data[1]) << 24 | Int(data[2]) << 16 | Int(data[3]) << 8 | Int(data[4]) : 0
        XCTAssertEqual(data.count, 5 + length)
        let message = try ListAndWatchResponse(serializedBytes: Array(data.dropFirst(5)))
        XCTAssertEqual(message.devices.first?.id, "1999-\(padding)")
    }
}

private final class Sent: Sendable {
    let count = Atomic<Int>(0)
}
