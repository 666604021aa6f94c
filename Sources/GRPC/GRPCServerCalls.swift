import HPACK
import HTTP2

/// The calls of every connection, on the loop thread. A request's HEADERS start a
/// call, its DATA becomes the request message, the client's half-close starts the
/// handler as a task; the handler's result and messages come back through the
/// loop's mailbox and become the response. A call ends with its trailers, a reset,
/// its deadline or its connection.
final class GRPCServerCalls {
    struct CallKey: Hashable {
        var connection: Int
        var stream: UInt32
    }

    /// The calls of one connection.
    private struct ConnectionCalls {
        var byStream: [UInt32: GRPCServerCall] = [:]
        /// Request bytes buffered across these calls, bounded so one client cannot
        /// make the daemon hold gigabytes.
        var bufferedRequestBytes = 0
    }

    private unowned let loop: GRPCServerLoop
    private let router: GRPCRouter
    private let configuration: GRPCServer.Configuration
    private var connections: [Int: ConnectionCalls] = [:]
    /// Deadlines of calls in progress, dropped when a call ends.
    private var deadlines = DeadlineQueue<CallKey>()

    init(loop: GRPCServerLoop, router: GRPCRouter, configuration: GRPCServer.Configuration) {
        self.loop = loop
        self.router = router
        self.configuration = configuration
    }

    private func call(_ key: CallKey) -> GRPCServerCall? {
        connections[key.connection]?.byStream[key.stream]
    }

    private func key(_ call: GRPCServerCall) -> CallKey {
        CallKey(connection: call.connection.id, stream: call.stream)
    }

    private func remove(_ call: GRPCServerCall) {
        connections[call.connection.id]?.byStream[call.stream] = nil
        deadlines.remove(key(call))
    }

    // MARK: HTTP/2 events

    func handle(_ event: HTTP2Event, on connection: GRPCServerConnection) {
        switch event {
        case .headers(let stream, let fields, let endStream):
            if let call = call(CallKey(connection: connection.id, stream: stream)) {
                // Client trailers: only a half-close matters to unary and server-streaming calls.
                if endStream { requestComplete(call) }
            } else {
                startCall(stream: stream, fields: fields, endStream: endStream, on: connection)
            }
        case .data(let stream, let bytes, let endStream):
            guard let call = call(CallKey(connection: connection.id, stream: stream)) else { return }
            receiveData(bytes, endStream: endStream, call: call)
        case .streamReset(let stream, _), .streamError(let stream, _, _):
            if let call = call(CallKey(connection: connection.id, stream: stream)) {
                remove(call)
                end(call, error: GRPCStatus(.cancelled, "stream reset by the client"))
            }
        case .connectionError:
            endAll(on: connection, error: GRPCStatus(.unavailable, "connection error"))
        case .windowOpened:
            resumeWaiters(on: connection)
        case .ready, .goAway:
            break
        }
    }

    /// Ends every call of `connection`, which is closing, failing its pending sends with `error`.
    func endAll(on connection: GRPCServerConnection, error: GRPCStatus) {
        guard let calls = connections.removeValue(forKey: connection.id) else { return }
        for call in calls.byStream.values { end(call, error: error) }
        deadlines.removeAll { $0.connection == connection.id }
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
        let call = GRPCServerCall(connection: connection, stream: stream, path: path, handler: handler, context: context,
                                  maxMessageSize: configuration.maxReceiveMessageSize)
        connections[connection.id, default: ConnectionCalls()].byStream[stream] = call
        if let deadline { deadlines.set(deadline, for: key(call)) }
        if endStream { requestComplete(call) }
    }

    private func receiveData(_ bytes: [UInt8], endStream: Bool, call: GRPCServerCall) {
        let id = call.connection.id
        do {
            let before = call.deframer.bufferedCount
            let messages = try call.deframer.append(bytes)
            connections[id]?.bufferedRequestBytes += call.deframer.bufferedCount - before
            let buffered = connections[id]?.bufferedRequestBytes ?? 0
            guard buffered <= configuration.maxBufferedRequestBytes else {
                throw GRPCStatus(.resourceExhausted, "more than \(configuration.maxBufferedRequestBytes) request bytes buffered on this connection")
            }
            for message in messages {
                if call.request == nil { call.request = message } else { call.extraMessages = true }
            }
        } catch {
            connections[id]?.bufferedRequestBytes -= call.deframer.bufferedCount
            finish(call, status: Self.status(for: error))
            return
        }
        if endStream { requestComplete(call) }
    }

    /// The client half-closed: unary and server-streaming calls have their one request.
    private func requestComplete(_ call: GRPCServerCall) {
        guard call.task == nil, self.call(key(call)) === call else { return }
        connections[call.connection.id]?.bufferedRequestBytes -= call.deframer.bufferedCount
        guard let request = call.request, !call.extraMessages, !call.deframer.hasPartialMessage else {
            let problem = if call.deframer.hasPartialMessage {
                "request ended inside a message"
            } else if call.request == nil {
                "expected exactly one request message, got none"
            } else {
                "expected exactly one request message, got more"
            }
            finish(call, status: GRPCStatus(.internalError, problem))
            return
        }
        let key = key(call)
        let context = call.context
        let loop = self.loop
        switch call.handler {
        case .unary(let handler):
            call.task = Task {
                let result: Result<[UInt8], Error>
                do { result = .success(try await handler(request, context)) } catch { result = .failure(error) }
                loop.post { state in state.calls.unaryFinished(key, result: result) }
            }
        case .serverStreaming(let coalescing, let handler):
            let sink = GRPCStreamSink(loop: loop, call: key, coalescing: coalescing)
            call.task = Task {
                let failure: Error?
                do {
                    try await handler(request, sink, context)
                    failure = nil
                } catch {
                    failure = error
                }
                loop.post { state in state.calls.streamingFinished(key, error: failure) }
            }
        }
    }

    // MARK: Responses

    func unaryFinished(_ key: CallKey, result: Result<[UInt8], Error>) {
        guard let call = call(key) else { return }
        switch result {
        case .success(let response):
            sendMessage(response, call: call)
            finish(call, status: .ok)
        case .failure(let error):
            finish(call, status: Self.status(for: error))
        }
    }

    func streamingFinished(_ key: CallKey, error: Error?) {
        guard let call = call(key) else { return }
        finish(call, status: error.map(Self.status(for:)) ?? .ok)
    }

    /// A message from a streaming handler. Without a continuation the handler did not
    /// wait: it learns through the sink whether its next send has to.
    func sendStreamMessage(_ key: CallKey, payload: [UInt8], sink: GRPCStreamSink,
                           continuation: CheckedContinuation<Void, Error>?) {
        guard let call = call(key) else {
            sink.setMustWait(true)  // so that the next send comes here and throws
            continuation?.resume(throwing: GRPCStatus(.cancelled, "the call has ended"))
            return
        }
        let latestOnly = sink.coalescing == .latestOnly
        sendMessage(payload, call: call, replacingQueued: latestOnly)
        // A latest-only stream holds at most two messages however slow its peer.
        let underMark = latestOnly || call.connection.http2.pendingDataBytes(on: key.stream) <= configuration.streamHighWaterMark
        sink.setMustWait(!underMark)
        guard let continuation else { return }
        if underMark {
            continuation.resume()
        } else {
            call.waiters.append(continuation)
        }
    }

    private func sendMessage(_ payload: [UInt8], call: GRPCServerCall, replacingQueued: Bool = false) {
        do {
            if !call.headersSent {
                try call.connection.http2.sendHeaders(GRPCResponseHeaders.initial, on: call.stream, endStream: false)
                call.headersSent = true
            }
            if replacingQueued {
                try call.connection.http2.sendDataReplacingQueued(GRPCMessageFraming.frame(payload), on: call.stream)
            } else {
                try call.connection.http2.sendData(GRPCMessageFraming.frame(payload), on: call.stream, endStream: false)
            }
        } catch {
            connections[call.connection.id]?.byStream[call.stream] = nil
            end(call, error: GRPCStatus(.cancelled, "\(error)"))
        }
    }

    /// What a handler's error tells the client: a GRPCStatus as it is, any other error as UNKNOWN.
    private static func status(for error: any Error) -> GRPCStatus {
        switch error {
        case let status as GRPCStatus: status
        case is CancellationError: GRPCStatus(.cancelled, "the call was cancelled")
        default: GRPCStatus(.unknown, "\(error)")
        }
    }

    /// Ends a call with `status`: trailers, or Trailers-Only if nothing was sent yet.
    private func finish(_ call: GRPCServerCall, status: GRPCStatus) {
        let fields = call.headersSent ? GRPCResponseHeaders.trailers(status) : GRPCResponseHeaders.trailersOnly(status)
        try? call.connection.http2.sendHeaders(fields, on: call.stream, endStream: true)
        remove(call)
        end(call, error: GRPCStatus(.cancelled, "the call has ended"))
    }

    /// Cancels the handler and fails its pending sends.
    private func end(_ call: GRPCServerCall, error: GRPCStatus) {
        call.task?.cancel()
        let waiters = call.waiters
        call.waiters.removeAll()
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// Resumes the sends waiting on streams of `connection` that fell under the high-water mark.
    func resumeWaiters(on connection: GRPCServerConnection) {
        guard let calls = connections[connection.id] else { return }
        for call in calls.byStream.values where !call.waiters.isEmpty {
            if connection.http2.pendingDataBytes(on: call.stream) <= configuration.streamHighWaterMark {
                let waiters = call.waiters
                call.waiters.removeAll()
                for waiter in waiters { waiter.resume() }
            }
        }
    }

    // MARK: Deadlines

    func pollTimeoutMilliseconds() -> Int32 {
        deadlines.pollTimeoutMilliseconds(now: .now)
    }

    func fireExpiredDeadlines() {
        for key in deadlines.removeExpired(now: .now) {
            guard let call = call(key) else { continue }
            finish(call, status: GRPCStatus(.deadlineExceeded, "context deadline exceeded"))
            // grpc-go's server resets the stream when the deadline passes.
            let connection = call.connection
            if connection.http2.isOpen(key.stream) && connection.http2.pendingDataBytes(on: key.stream) == 0 {
                connection.http2.resetStream(key.stream, code: .cancel)
            }
        }
    }
}
