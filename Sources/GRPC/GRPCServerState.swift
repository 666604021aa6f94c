/// Everything the loop thread owns: the listening socket, the accepted connections
/// and, through `calls`, their calls. Methods run on that thread only.
final class GRPCServerState: @unchecked Sendable {
    unowned let loop: GRPCServerLoop
    let listener: UnixSocket
    let configuration: GRPCServer.Configuration
    let calls: GRPCServerCalls
    private var connections: [Int32: GRPCServerConnection] = [:]
    private var nextConnectionID = 1
    private var readBuffer = [UInt8](repeating: 0, count: 65_536)
    private let counter: ConnectionCounter

    init(loop: GRPCServerLoop, listener: UnixSocket, router: GRPCRouter, configuration: GRPCServer.Configuration,
         counter: ConnectionCounter) {
        self.counter = counter
        self.loop = loop
        self.listener = listener
        self.configuration = configuration
        calls = GRPCServerCalls(loop: loop, router: router, configuration: configuration)
    }

    func acceptAll() {
        while let socket = listener.accept() {
            let connection = GRPCServerConnection(id: nextConnectionID, socket: socket, configuration: configuration.http2)
            nextConnectionID += 1
            connections[socket.fd] = connection
            loop.watch(socket.fd, writable: false)
            counter.value.store(connections.count, ordering: .relaxed)
        }
    }

    func handleIO(fd: Int32, readable: Bool, writable: Bool) {
        guard let connection = connections[fd] else { return }
        if writable { write(connection) }
        if readable && !connection.read(into: &readBuffer, { calls.handle($0, on: connection) }) {
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

    private func close(_ connection: GRPCServerConnection) {
        guard connections[connection.socket.fd] === connection else { return }
        calls.endAll(on: connection, error: GRPCStatus(.unavailable, "connection closed"))
        loop.unwatch(connection.socket.fd)
        connection.socket.closeSocket()
        connections[connection.socket.fd] = nil
        counter.value.store(connections.count, ordering: .relaxed)
    }

    func shutdown() {
        for connection in Array(connections.values) {
            connection.http2.goAway()
            write(connection)
            close(connection)
        }
        loop.unwatch(listener.fd)
        listener.closeSocket()
    }
}
