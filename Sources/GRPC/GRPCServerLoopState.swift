#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import HPACK
import HTTP2

/// Everything the loop thread owns. Methods here run on that thread only.
final class LoopState: @unchecked Sendable {
    unowned let loop: GRPCServerLoop
    let listener: UnixSocket
    let router: GRPCRouter
    let configuration: GRPCServer.Configuration
    private var connections: [Int32: GRPCServerConnection] = [:]
    private var connectionsByID: [Int: GRPCServerConnection] = [:]
    private var nextConnectionID = 1
    /// Deadlines of calls in progress, dropped when a call ends.
    private var deadlines: [CallKey: ContinuousClock.Instant] = [:]

    struct CallKey: Hashable {
        var connection: Int
        var stream: UInt32
    }
    private var readBuffer = [UInt8](repeating: 0, count: 65_536)
    private let counter: ConnectionCounter

    init(loop: GRPCServerLoop, listener: UnixSocket, router: GRPCRouter, configuration: GRPCServer.Configuration,
         counter: ConnectionCounter) {
        self.counter = counter
        self.loop = loop
        self.listener = listener
        self.router = router
        self.configuration = configuration
    }

    // MARK: Connections

    func acceptAll() {
        while let socket = listener.accept() {
            let connection = GRPCServerConnection(id: nextConnectionID, socket: socket, configuration: configuration.http2)
            nextConnectionID += 1
            connections[socket.fd] = connection
            connectionsByID[connection.id] = connection
            loop.watch(socket.fd, writable: false)
            counter.value.store(connections.count, ordering: .relaxed)
        }
    }

    func handleIO(fd: Int32, readable: Bool, writable: Bool) {
        guard let connection = connections[fd] else { return }
        if writable { write(connection) }
        if readable { read(connection) }
    }

    private func read(_ connection: GRPCServerConnection) {
        // Up to four buffers per wake-up, so one busy peer cannot starve the rest.
        for _ in 0..<4 {
            switch connection.socket.read(into: &readBuffer) {
            case .bytes(let count):
                let events = connection.http2.receive(readBuffer[0..<count])
                for event in events { handle(event, on: connection) }
                if connection.http2.isClosed { return }
                if count < readBuffer.count { return }
            case .wouldBlock:
                return
            case .endOfStream, .failed:
                close(connection)
                return
            }
        }
    }

    private func write(_ connection: GRPCServerConnection) {
        let outbound = connection.http2.takeOutbound()
        if !outbound.isEmpty {
            if connection.writeOffset > 0 && connection.writeOffset == connection.writeBuffer.count {
                connection.writeBuffer.removeAll(keepingCapacity: true)
                connection.writeOffset = 0
            }
            connection.writeBuffer.append(contentsOf: outbound)
        }
        while connection.pendingWriteCount > 0 {
            do {
                let written = try connection.socket.write(connection.writeBuffer[connection.writeOffset...])
                if written == 0 { break }
                connection.writeOffset += written
            } catch {
                close(connection)
                return
            }
        }
        if connection.pendingWriteCount == 0 {
            connection.writeBuffer.removeAll(keepingCapacity: true)
            connection.writeOffset = 0
            if connection.http2.isClosed {
                close(connection)
                return
            }
        } else if connection.pendingWriteCount > configuration.maxPendingWriteBytes {
            // The peer stopped reading (a PING flood with no reads, say): give up on it.
            close(connection)
            return
        }
        let wantsWrites = connection.pendingWriteCount > 0
        if wantsWrites != connection.watchingWrites {
            connection.watchingWrites = wantsWrites
            loop.watch(connection.socket.fd, writable: wantsWrites)
        }
        resumeWaiters(connection)
    }

    func flushAll() {
        for connection in Array(connections.values) where connection.http2.hasOutbound || connection.http2.isClosed {
            write(connection)
        }
    }

    private func close(_ connection: GRPCServerConnection) {
        guard connections[connection.socket.fd] === connection else { return }
        for call in connection.calls.values { end(call, error: GRPCStatus(.unavailable, "connection closed")) }
        connection.calls.removeAll()
        deadlines = deadlines.filter { $0.key.connection != connection.id }
        loop.unwatch(connection.socket.fd)
        connection.socket.closeSocket()
        connections[connection.socket.fd] = nil
        connectionsByID[connection.id] = nil
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

    // MARK: HTTP/2 events → calls

    private func handle(_ event: HTTP2Event, on connection: GRPCServerConnection) {
        switch event {
        case .headers(let stream, let fields, let endStream):
            if let call = connection.calls[stream] {
                // Client trailers: only a half-close matters to unary and server-streaming calls.
                if endStream { requestComplete(call, on: connection) }
            } else {
                startCall(stream: stream, fields: fields, endStream: endStream, on: connection)
            }
        case .data(let stream, let bytes, let endStream):
            guard let call = connection.calls[stream] else { return }
            receiveData(bytes, endStream: endStream, call: call, on: connection)
        case .streamReset(let stream, _), .streamError(let stream, _, _):
            if let call = connection.calls.removeValue(forKey: stream) {
                deadlines[CallKey(connection: connection.id, stream: stream)] = nil
                end(call, error: GRPCStatus(.cancelled, "stream reset by the client"))
            }
        case .connectionError:
            for call in connection.calls.values { end(call, error: GRPCStatus(.unavailable, "connection error")) }
            connection.calls.removeAll()
        case .windowOpened:
            resumeWaiters(connection)
        case .ready, .goAway:
            break
        }
    }

    private func startCall(stream: UInt32, fields: [HeaderField], endStream: Bool, on connection: GRPCServerConnection) {
        func value(_ name: String) -> String? { fields.first { $0.name == name }?.value }
        guard value(":method") == "POST" else {
            try? connection.http2.sendHeaders([HeaderField(name: ":status", value: "405")], on: stream, endStream: true)
            return
        }
        guard let contentType = value("content-type"), contentType.hasPrefix("application/grpc") else {
            let status = GRPCStatus(.invalidArgument, "invalid gRPC request content-type \"\(value("content-type") ?? "")\"")
            try? connection.http2.sendHeaders([HeaderField(name: ":status", value: "415")] + GRPCResponseHeaders.trailers(status), on: stream, endStream: true)
            return
        }
        let path = value(":path") ?? ""
        guard let handler = router.handlers[path] else {
            try? connection.http2.sendHeaders(GRPCResponseHeaders.trailersOnly(router.unimplemented(path)), on: stream, endStream: true)
            return
        }
        var deadline: ContinuousClock.Instant?
        if let timeout = value("grpc-timeout") {
            guard let duration = GRPCTimeout.parse(timeout) else {
                try? connection.http2.sendHeaders(GRPCResponseHeaders.trailersOnly(GRPCStatus(.internalError, "malformed grpc-timeout \"\(timeout)\"")), on: stream, endStream: true)
                return
            }
            deadline = .now + duration
        }
        let context = GRPCCallContext(path: path, headers: fields, deadline: deadline)
        let call = GRPCServerCall(stream: stream, path: path, handler: handler, context: context,
                                  maxMessageSize: configuration.maxReceiveMessageSize)
        connection.calls[stream] = call
        if let deadline { deadlines[CallKey(connection: connection.id, stream: stream)] = deadline }
        if endStream { requestComplete(call, on: connection) }
    }

    private func receiveData(_ bytes: [UInt8], endStream: Bool, call: GRPCServerCall, on connection: GRPCServerConnection) {
        do {
            let before = call.deframer.bufferedCount
            let messages = try call.deframer.append(bytes)
            connection.bufferedRequestBytes += call.deframer.bufferedCount - before
            guard connection.bufferedRequestBytes <= configuration.maxBufferedRequestBytes else {
                throw GRPCStatus(.resourceExhausted, "more than \(configuration.maxBufferedRequestBytes) request bytes buffered on this connection")
            }
            for message in messages {
                if call.request == nil { call.request = message } else { call.extraMessages = true }
            }
        } catch {
            connection.bufferedRequestBytes -= call.deframer.bufferedCount
            finish(call, status: error, on: connection)
            return
        }
        if endStream { requestComplete(call, on: connection) }
    }

    /// The client half-closed: unary and server-streaming calls have their one request.
    private func requestComplete(_ call: GRPCServerCall, on connection: GRPCServerConnection) {
        guard call.task == nil, connection.calls[call.stream] === call else { return }
        connection.bufferedRequestBytes -= call.deframer.bufferedCount
        guard let request = call.request, !call.extraMessages, !call.deframer.hasPartialMessage else {
            let count = call.request == nil ? 0 : 2
            finish(call, status: GRPCStatus(.internalError, call.deframer.hasPartialMessage
                ? "request ended inside a message" : "expected exactly one request message, got \(count == 0 ? "none" : "more")"), on: connection)
            return
        }
        let connectionID = connection.id
        let stream = call.stream
        let context = call.context
        let loop = self.loop
        switch call.handler {
        case .unary(let handler):
            call.task = Task {
                let result: Result<[UInt8], Error>
                do { result = .success(try await handler(request, context)) } catch { result = .failure(error) }
                loop.post { state in state.unaryFinished(connection: connectionID, stream: stream, result: result) }
            }
        case .serverStreaming(let handler):
            let sink = GRPCStreamSink(loop: loop, connection: connectionID, stream: stream)
            call.task = Task {
                let failure: Error?
                do {
                    try await handler(request, sink, context)
                    failure = nil
                } catch {
                    failure = error
                }
                loop.post { state in state.streamingFinished(connection: connectionID, stream: stream, error: failure) }
            }
        }
    }

    // MARK: Responses

    private func call(_ connectionID: Int, _ stream: UInt32) -> (GRPCServerConnection, GRPCServerCall)? {
        guard let connection = connectionsByID[connectionID], let call = connection.calls[stream] else { return nil }
        return (connection, call)
    }

    func unaryFinished(connection connectionID: Int, stream: UInt32, result: Result<[UInt8], Error>) {
        guard let (connection, call) = call(connectionID, stream) else { return }
        switch result {
        case .success(let response):
            sendMessage(response, call: call, on: connection)
            finish(call, status: GRPCStatus.ok, on: connection)
        case .failure(let error):
            finish(call, status: error, on: connection)
        }
    }

    func streamingFinished(connection connectionID: Int, stream: UInt32, error: Error?) {
        guard let (connection, call) = call(connectionID, stream) else { return }
        finish(call, status: error ?? GRPCStatus.ok, on: connection)
    }

    /// A message from a streaming handler. Without a continuation the handler did not
    /// wait: it learns through the sink whether its next send has to.
    func sendStreamMessage(connection connectionID: Int, stream: UInt32, payload: [UInt8], sink: GRPCStreamSink,
                           continuation: CheckedContinuation<Void, Error>?) {
        guard let (connection, call) = call(connectionID, stream) else {
            sink.setMustWait(true)  // so that the next send comes here and throws
            continuation?.resume(throwing: GRPCStatus(.cancelled, "the call has ended"))
            return
        }
        sendMessage(payload, call: call, on: connection)
        let underMark = connection.http2.pendingDataBytes(on: stream) <= configuration.streamHighWaterMark
        sink.setMustWait(!underMark)
        guard let continuation else { return }
        if underMark {
            continuation.resume()
        } else {
            call.waiters.append(continuation)
        }
    }

    private func sendMessage(_ payload: [UInt8], call: GRPCServerCall, on connection: GRPCServerConnection) {
        do {
            if !call.headersSent {
                try connection.http2.sendHeaders(GRPCResponseHeaders.initial, on: call.stream, endStream: false)
                call.headersSent = true
            }
            try connection.http2.sendData(GRPCMessageFraming.frame(payload), on: call.stream, endStream: false)
        } catch {
            connection.calls[call.stream] = nil
            end(call, error: GRPCStatus(.cancelled, "\(error)"))
        }
    }

    /// Ends a call with `status` (a GRPCStatus, or any error as UNKNOWN): trailers,
    /// or Trailers-Only if nothing was sent yet.
    private func finish(_ call: GRPCServerCall, status error: Error, on connection: GRPCServerConnection) {
        let status: GRPCStatus
        switch error {
        case let grpc as GRPCStatus: status = grpc
        case is CancellationError: status = GRPCStatus(.cancelled, "the call was cancelled")
        default: status = GRPCStatus(.unknown, "\(error)")
        }
        let fields = call.headersSent ? GRPCResponseHeaders.trailers(status) : GRPCResponseHeaders.trailersOnly(status)
        try? connection.http2.sendHeaders(fields, on: call.stream, endStream: true)
        connection.calls[call.stream] = nil
        deadlines[CallKey(connection: connection.id, stream: call.stream)] = nil
        end(call, error: GRPCStatus(.cancelled, "the call has ended"))
    }

    /// Cancels the handler and fails its pending sends.
    private func end(_ call: GRPCServerCall, error: GRPCStatus) {
        call.task?.cancel()
        let waiters = call.waiters
        call.waiters.removeAll()
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    private func resumeWaiters(_ connection: GRPCServerConnection) {
        for call in connection.calls.values where !call.waiters.isEmpty {
            if connection.http2.pendingDataBytes(on: call.stream) <= configuration.streamHighWaterMark {
                let waiters = call.waiters
                call.waiters.removeAll()
                for waiter in waiters { waiter.resume() }
            }
        }
    }

    // MARK: Deadlines

    func millisecondsUntilNextDeadline() -> Int32 {
        guard let next = deadlines.values.min() else { return -1 }
        return ContinuousClock.now.duration(to: next).pollTimeoutMilliseconds
    }

    func fireExpiredDeadlines() {
        guard !deadlines.isEmpty else { return }
        let now = ContinuousClock.now
        let expired = deadlines.filter { $0.value <= now }.map(\.key)
        for key in expired {
            deadlines[key] = nil
            guard let (connection, call) = call(key.connection, key.stream) else { continue }
            finish(call, status: GRPCStatus(.deadlineExceeded, "context deadline exceeded"), on: connection)
            // grpc-go's server resets the stream when the deadline passes.
            if connection.http2.isOpen(key.stream) && connection.http2.pendingDataBytes(on: key.stream) == 0 {
                connection.http2.resetStream(key.stream, code: .cancel)
            }
        }
    }
}
