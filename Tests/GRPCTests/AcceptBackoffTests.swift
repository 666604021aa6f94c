import DevicePluginAPI
@testable import GRPC
import Synchronization
import XCTest

/// Accepting with no descriptors left (EMFILE): new connections are closed at once
/// through the spare descriptor, the loop rests instead of spinning, and the
/// shortage is logged once.
final class AcceptBackoffTests: XCTestCase {
    func testConnectionsPastTheDescriptorLimitAreClosedAndTheLoopDoesNotSpin() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lines = LogLines()
        var configuration = GRPCServer.Configuration()
        configuration.maxConnections = 1000
        configuration.log = { line in lines.value.withLock { $0.append(line) } }
        var router = GRPCRouter()
        router.register(DevicePluginService.getDevicePluginOptions) { _, _ in DevicePluginOptions() }
        let server = try GRPCServer(socketPath: directory + "/dp.sock", router: router, configuration: configuration)
        defer { server.stop() }

        // Client sockets are made first: connect(2) needs no new descriptor.
        let clients = (0..<40).map { _ in socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { for fd in clients { close(fd) } }
        XCTAssertFalse(clients.contains(-1))
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
        // open(2) returns the lowest free number: every one below it is taken, so a
        // soft limit of that number leaves no descriptor to allocate.
        let lowestFree = open("/dev/null", O_RDONLY | O_CLOEXEC)
        close(lowestFree)
        var lowered = rlimit(rlim_cur: rlim_t(lowestFree), rlim_max: saved.rlim_max)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered), 0)
        var restored = false
        func restore() {
            if !restored { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) }
            restored = true
        }
        defer { restore() }

        // Nothing below may need a descriptor (XCTest's failure reporting might), so
        // the findings are asserted once the limit is restored.
        let firstClosed = clients.prefix(20).map { connect($0, path: server.socketPath) == 0 && closedByPeer($0, within: .seconds(1)) }

        // More clients arrive while descriptors stay short; the loop must not spin.
        let before = cpuTime()
        let started = ContinuousClock.now
        let laterClosed = clients.suffix(20).map { connect($0, path: server.socketPath) == 0 && closedByPeer($0, within: .seconds(1)) }
        while ContinuousClock.now - started < .milliseconds(500) { _ = poll(nil, 0, 50) }
        let used = cpuTime() - before
        let elapsed = ContinuousClock.now - started
        restore()

        XCTAssertEqual(firstClosed, Array(repeating: true, count: 20))
        XCTAssertEqual(laterClosed, Array(repeating: true, count: 20))
        XCTAssertLessThan(used, elapsed / 4, "\(used) of CPU in \(elapsed)")
        let options = try await GRPCClient.unary(socketPath: server.socketPath, method: DevicePluginService.getDevicePluginOptions,
                                                 request: Empty(), timeout: .seconds(10))
        XCTAssertEqual(options, DevicePluginOptions())
        let logged = lines.value.withLock { $0 }
        XCTAssertEqual(logged.filter { $0.contains("(errno \(EMFILE))") }.count, 1, "\(logged)")
        XCTAssertTrue(logged.last?.hasPrefix("accepting connections on \(server.socketPath) again") ?? false, "\(logged)")
    }
}

private final class LogLines: Sendable {
    let value = Mutex<[String]>([])
}

private func connect(_ fd: Int32, path: String) -> Int32 {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: Array(path.utf8) + [0])
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}

/// Whether the peer closes `fd` (end of stream or reset) within `timeout`.
private func closedByPeer(_ fd: Int32, within timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    var buffer = [UInt8](repeating: 0, count: 4096)
    while ContinuousClock.now < deadline {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, ContinuousClock.now.duration(to: deadline).pollTimeoutMilliseconds) > 0 else { return false }
        let count = read(fd, &buffer, buffer.count)
        if count <= 0 { return true }
    }
    return false
}

/// CPU time the whole process has used, user and system.
private func cpuTime() -> Duration {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func duration(_ time: timeval) -> Duration { .seconds(time.tv_sec) + .microseconds(time.tv_usec) }
    return duration(usage.ru_utime) + duration(usage.ru_stime)
}
