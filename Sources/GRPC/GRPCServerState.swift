import HTTP2

/// Everything the loop thread owns: the listening socket, the accepted connections
/// and, through `calls`, their calls. Methods run on that thread only.
final class GRPCServerState: @unchecked Sendable {
    unowned let loop: GRPCServerLoop
    let listener: GRPCListener
    let configuration: GRPCServer.Configuration
    let calls: GRPCServerCalls
    private var connections: [Int32: GRPCServerConnection] = [:]
    private var nextConnectionID = 1
    private var readBuffer = [UInt8](repeating: 0, count: 65_536)
    private let gauges: ServerGauges
    /// When each connection still in its handshake (no preface and SETTINGS yet) is cut, by socket.
    private var handshakeDeadlines = DeadlineQueue<Int32>()
    /// Whether connections are being closed for `maxConnections`: logged once per episode.
    private var refusingConnections = false

    init(loop: GRPCServerLoop, listener: GRPCListener, router: GRPCRouter, configuration: GRPCServer.Configuration,
         gauges: ServerGauges) {
        self.gauges = gauges
        self.loop = loop
        self.listener = listener
        self.configuration = configuration
        calls = GRPCServerCalls(loop: loop, router: router, configuration: configuration)
    }

    func acceptAll() {
        while true {
            switch listener.accept() {
            case .connection(let socket):
                admit(socket)
            case .drained:
                return
            case .paused:
                loop.unwatch(listener.socket.fd)
                return
            }
        }
    }

    private func admit(_ socket: UnixSocket) {
        guard connections.count < configuration.maxConnections else {
            refuse(socket)
            return
        }
        if refusingConnections {
            configuration.log("\(listener.path): accepting connections again")
            refusingConnections = false
        }
        let connection = GRPCServerConnection(id: nextConnectionID, socket: socket, configuration: configuration.http2)
        nextConnectionID += 1
        connections[socket.fd] = connection
        handshakeDeadlines.set(.now + configuration.handshakeTimeout, for: socket.fd)
        loop.watch(socket.fd, writable: false)
        gauges.connections.store(connections.count, ordering: .relaxed)
    }

    /// Closes a connection over `maxConnections` at once. Its SETTINGS and GOAWAY fit
    /// in a fresh socket's buffer, so the client reads why before EOF.
    private func refuse(_ socket: UnixSocket) {
        if !refusingConnections {
            configuration.log("\(listener.path): \(connections.count) connections open, the limit; closing new ones at once")
            refusingConnections = true
        }
        var http2 = HTTP2Connection(role: .server, configuration: configuration.http2)
        http2.goAway(code: .enhanceYourCalm, debug: "too many connections (limit \(configuration.maxConnections))")
        _ = try? socket.write(http2.takeOutbound()[...])
        socket.closeSocket()
    }

    func handleIO(fd: Int32, readable: Bool, writable: Bool) {
        guard let connection = connections[fd] else { return }
        if writable { write(connection) }
        if readable && !connection.read(into: &readBuffer, { event in
            if case .ready = event { handshakeDeadlines.remove(fd) }
            calls.handle(event, on: connection)
        }) {
            close(connection)
        }
    }

    private func write(_ connection: GRPCServerConnection) {
        guard connection.flush(maxPendingWriteBytes: configuration.maxPendingWriteBytes) else {
            close(connection)
            return
        }
        let wantsWrites = connection.pendingWriteCount > 0
        if wantsWrites != connection.watchingWrites {
            connection.watchingWrites = wantsWrites
            loop.watch(connection.socket.fd, writable: wantsWrites)
        }
        calls.resumeWaiters(on: connection)
    }

    /// Writes what HTTP/2 queued on every connection since the last wake-up.
    func flushAll() {
        for connection in Array(connections.values) where connection.http2.hasOutbound || connection.http2.isClosed {
            write(connection)
        }
    }

    /// Closes the connections holding the most outbound bytes until all of them
    /// together hold no more than `maxQueuedBytes`.
    func enforceQueuedBytesLimit() {
        var queued = connections.values.map { ($0, $0.queuedBytes) }
        var total = queued.reduce(0) { $0 + $1.1 }
        while total > configuration.maxQueuedBytes, let largest = queued.max(by: { $0.1 < $1.1 }) {
            let (connection, bytes) = largest
            configuration.log("\(listener.path): closing connection \(connection.id), which holds \(bytes) of the "
                              + "\(total) bytes queued for all connections (limit \(configuration.maxQueuedBytes))")
            // Best effort: the GOAWAY waits behind what the peer has not read.
            connection.http2.goAway(code: .enhanceYourCalm, debug: "too many bytes queued for this connection")
            write(connection)
            close(connection)
            total -= bytes
            queued.removeAll { $0.0 === connection }
        }
        gauges.queuedBytes.store(total, ordering: .relaxed)
    }

    // MARK: Timers

    func pollTimeoutMilliseconds() -> Int32 {
        let now = ContinuousClock.now
        var timeouts = [calls.pollTimeoutMilliseconds(), handshakeDeadlines.pollTimeoutMilliseconds(now: now)]
        if let resume = listener.pausedUntil { timeouts.append(now.duration(to: resume).pollTimeoutMilliseconds) }
        return timeouts.filter { $0 >= 0 }.min() ?? -1
    }

    func fireTimers() {
        calls.fireExpiredDeadlines()
        let now = ContinuousClock.now
        for fd in handshakeDeadlines.removeExpired(now: now) {
            guard let connection = connections[fd] else { continue }
            let seconds = configuration.handshakeTimeout
            connection.http2.goAway(code: .settingsTimeout, debug: "no client preface and SETTINGS within \(seconds)")
            write(connection)
            close(connection)
        }
        if let resume = listener.pausedUntil, resume <= now {
            listener.resume()
            loop.watch(listener.socket.fd, writable: false)
        }
    }

    private func close(_ connection: GRPCServerConnection) {
        guard connections[connection.socket.fd] === connection else { return }
        calls.endAll(on: connection, error: GRPCStatus(.unavailable, "connection closed"))
        handshakeDeadlines.remove(connection.socket.fd)
        loop.unwatch(connection.socket.fd)
        connection.socket.closeSocket()
        connections[connection.socket.fd] = nil
        gauges.connections.store(connections.count, ordering: .relaxed)
    }

    func shutdown() {
        for connection in Array(connections.values) {
            connection.http2.goAway()
            write(connection)
            close(connection)
        }
        loop.unwatch(listener.socket.fd)
        listener.close()
    }
}
