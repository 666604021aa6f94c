import DevicePluginAPI
import GRPC
import TestSupport
import XCTest

/// Our server and our client on a real Unix socket in a temporary directory.
final class GRPCServerClientTests: XCTestCase {
    private var files: ScratchDirectory?
    private var directory: String { files!.path }

    override func setUpWithError() throws { files = try ScratchDirectory("grpc") }
    override func tearDown() { files = nil }

    private func makeServer() throws -> GRPCServer {
        var router = GRPCRouter()
        router.register(DevicePluginService.getDevicePluginOptions) { _, _ in
            DevicePluginOptions(preStartRequired: false, getPreferredAllocationAvailable: true)
        }
        router.register(DevicePluginService.allocate) { request, _ in
            let ids = request.containerRequests.first?.devicesIDs ?? []
            if ids.contains("bad") { throw GRPCStatus(.invalidArgument, "device bad: not in pool 100% ü") }
            if ids.contains("slow") { try await Task.sleep(for: .seconds(10)) }
            var response = ContainerAllocateResponse()
            response.envs["IDS"] = ids.joined(separator: ",")
            return AllocateResponse(containerResponses: [response])
        }
        return try GRPCServer(socketPath: directory + "/dp.sock", router: router)
    }

    func testUnaryRoundTripOverAUnixSocket() async throws {
        let server = try makeServer()
        defer { server.stop() }
        let options = try await GRPCClient.unary(socketPath: server.socketPath, method: DevicePluginService.getDevicePluginOptions, request: Empty(), timeout: .seconds(10))
        XCTAssertEqual(options, DevicePluginOptions(preStartRequired: false, getPreferredAllocationAvailable: true))
        let response = try await GRPCClient.unary(
            socketPath: server.socketPath, method: DevicePluginService.allocate,
            request: AllocateRequest(containerRequests: [ContainerAllocateRequest(devicesIDs: ["a", "b"])]), timeout: .seconds(10))
        XCTAssertEqual(response.containerResponses.first?.envs, ["IDS": "a,b"])
    }

    func testACallRefusedOnceConnectedSendsNothing() async throws {
        let handled = Locked(0)
        var router = GRPCRouter()
        router.register(DevicePluginService.allocate) { _, _ in
            handled.withLock { $0 += 1 }
            return AllocateResponse()
        }
        let server = try GRPCServer(socketPath: directory + "/dp.sock", router: router)
        defer { server.stop() }
        let asked = Locked(0)
        do {
            _ = try await GRPCClient.unary(socketPath: server.socketPath, method: DevicePluginService.allocate,
                                           request: AllocateRequest(containerRequests: [ContainerAllocateRequest(devicesIDs: ["slow"])]),
                                           timeout: .seconds(10)) {
                asked.withLock { $0 += 1 }
                return GRPCStatus(.aborted, "not now")
            }
            XCTFail("expected an error")
        } catch let status as GRPCStatus {
            XCTAssertEqual(status, GRPCStatus(.aborted, "not now"))
        }
        XCTAssertEqual(asked.withLock { $0 }, 1)
        // The server has seen the connection to its end (closed), and no request on it.
        let deadline = ContinuousClock.now + .seconds(10)
        while server.connectionCount > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(server.connectionCount, 0)
        XCTAssertEqual(handled.withLock { $0 }, 0)
    }

    func testHandlerErrorArrivesWithCodeAndMessage() async throws {
        let server = try makeServer()
        defer { server.stop() }
        do {
            _ = try await GRPCClient.unary(socketPath: server.socketPath, method: DevicePluginService.allocate,
                                           request: AllocateRequest(containerRequests: [ContainerAllocateRequest(devicesIDs: ["bad"])]))
            XCTFail("expected an error")
        } catch let status as GRPCStatus {
            XCTAssertEqual(status, GRPCStatus(.invalidArgument, "device bad: not in pool 100% ü"))
        }
    }

    func testUnknownMethodIsUnimplemented() async throws {
        let server = try makeServer()
        defer { server.stop() }
        do {
            _ = try await GRPCClient.unary(socketPath: server.socketPath, method: DevicePluginService.preStartContainer, request: PreStartContainerRequest())
            XCTFail("expected an error")
        } catch let status as GRPCStatus {
            XCTAssertEqual(status, GRPCStatus(.unimplemented, "unknown method PreStartContainer for service v1beta1.DevicePlugin"))
        }
    }

    func testDeadlineIsEnforcedByTheServer() async throws {
        let server = try makeServer()
        defer { server.stop() }
        do {
            _ = try await GRPCClient.unary(socketPath: server.socketPath, method: DevicePluginService.allocate,
                                           request: AllocateRequest(containerRequests: [ContainerAllocateRequest(devicesIDs: ["slow"])]),
                                           timeout: .milliseconds(200))
            XCTFail("expected an error")
        } catch let status as GRPCStatus {
            XCTAssertEqual(status.code, .deadlineExceeded)
        }
    }

    func testMissingSocketIsUnavailable() async throws {
        do {
            _ = try await GRPCClient.unary(socketPath: directory + "/absent.sock", method: DevicePluginService.getDevicePluginOptions, request: Empty())
            XCTFail("expected an error")
        } catch let status as GRPCStatus {
            XCTAssertEqual(status.code, .unavailable)
        }
    }

    func testSocketFileIsPrivateAndRemovedOnStop() throws {
        let server = try makeServer()
        let attributes = try FileManager.default.attributesOfItem(atPath: server.socketPath)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        server.stop()
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socketPath))
    }
}
