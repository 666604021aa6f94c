import HPACK
import HTTP2
import ProtoWire

/// A unary gRPC client over a Unix-domain socket: one connection per call, which
/// suits Register and occasional PodResources queries. It never sends PINGs
/// (grpc-go servers answer unsolicited ones with GOAWAY "too_many_pings") and
/// answers the server's.
public enum GRPCClient {
    /// Calls `method` on the server at `socketPath` and returns its response, or
    /// throws the call's GRPCStatus (DEADLINE_EXCEEDED when `timeout` passes,
    /// UNAVAILABLE when the socket cannot be reached). `whenConnected` runs once the
    /// connection is made and before the request is sent; a status it returns ends the
    /// call with that status, nothing sent.
    public static func unary<Request, Response>(
        socketPath: String, method: GRPCMethod<Request, Response>, request: Request,
        timeout: Duration = .seconds(30), authority: String = "localhost",
        whenConnected: (@Sendable () -> GRPCStatus?)? = nil
    ) async throws -> Response {
        let bytes = request.serializedBytes()
        let response = try await runBlocking(name: "grpc-client") {
            try unaryBlocking(socketPath: socketPath, path: method.path, request: bytes, timeout: timeout, authority: authority,
                              whenConnected: whenConnected)
        }
        do {
            return try Response(serializedBytes: response)
        } catch {
            throw GRPCStatus(.internalError, "grpc: failed to unmarshal the response of \(method.path): \(error)")
        }
    }

    /// The call on the current thread, blocking. Returns the response payload.
    public static func unaryBlocking(
        socketPath: String, path: String, request: [UInt8], timeout: Duration, authority: String = "localhost",
        whenConnected: (@Sendable () -> GRPCStatus?)? = nil
    ) throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        let socket: UnixSocket
        do {
            socket = try UnixSocket.connect(path: socketPath)
        } catch {
            throw GRPCStatus(.unavailable, "connection error: \(error)")
        }
        defer { socket.closeSocket() }
        if let status = whenConnected?() { throw status }

        var http2 = HTTP2Connection(role: .client)
        let headers = [
            HeaderField(name: ":method", value: "POST"), HeaderField(name: ":scheme", value: "http"),
            HeaderField(name: ":path", value: path), HeaderField(name: ":authority", value: authority),
            HeaderField(name: "content-type", value: "application/grpc"),
            HeaderField(name: "user-agent", value: "sriov-rdma-grpc/1"), HeaderField(name: "te", value: "trailers"),
            HeaderField(name: "grpc-timeout", value: GRPCTimeout.encode(timeout)),
        ]
        let stream: UInt32
        do {
            stream = try http2.startStream(headers: headers, endStream: false)
            try http2.sendData(GRPCMessageFraming.frame(request), on: stream, endStream: true)
        } catch {
            throw GRPCStatus(.internalError, "\(error)")
        }

        var response = ClientResponse()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            try writeAll(http2.takeOutbound(), to: socket, path: socketPath)
            if let outcome = response.outcome {
                // Say goodbye as grpc-go does, then close.
                http2.goAway(debug: "client transport shutdown")
                try? writeAll(http2.takeOutbound(), to: socket, path: socketPath)
                return try outcome.get()
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw GRPCStatus(.deadlineExceeded, "context deadline exceeded") }
            guard socket.wait(timeoutMilliseconds: remaining.pollTimeoutMilliseconds) else { continue }
            switch socket.read(into: &buffer) {
            case .bytes(let count):
                for event in http2.receive(buffer[0..<count]) { response.handle(event, stream: stream) }
            case .wouldBlock:
                continue
            case .endOfStream:
                throw response.outcome.flatMap { try? $0.get() }.map { _ in GRPCStatus.ok }
                    ?? GRPCStatus(.unavailable, "the server closed the connection before the call ended")
            case .failed(let error):
                throw GRPCStatus(.unavailable, "read \(socketPath): errno \(error)")
            }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to socket: UnixSocket, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            do {
                let written = try socket.write(bytes[offset...])
                if written == 0 { _ = socket.wait(forWriting: true, timeoutMilliseconds: 1000) }
                offset += written
            } catch {
                throw GRPCStatus(.unavailable, "\(error)")
            }
        }
    }
}

/// What the client has seen of its one stream.
private struct ClientResponse {
    var headersSeen = false
    var deframer = GRPCMessageDeframer(maxMessageSize: GRPCMessageFraming.defaultMaxMessageSize)
    var messages: [[UInt8]] = []
    var outcome: Result<[UInt8], GRPCStatus>?

    mutating func handle(_ event: HTTP2Event, stream: UInt32) {
        guard outcome == nil else { return }
        switch event {
        case .headers(stream, let fields, let endStream):
            if !headersSeen {
                headersSeen = true
                let status = fields.first { $0.name == ":status" }?.value ?? ""
                let contentType = fields.first { $0.name == "content-type" }?.value ?? ""
                guard status == "200", contentType.hasPrefix("application/grpc") else {
                    outcome = .failure(GRPCStatus(Self.code(forHTTPStatus: status),
                                                  "unexpected HTTP status \(status) with content-type \"\(contentType)\""))
                    return
                }
            }
            if endStream { finish(trailers: fields) }
        case .data(stream, let bytes, let endStream):
            do {
                messages += try deframer.append(bytes)
            } catch {
                outcome = .failure(error)
                return
            }
            if endStream { outcome = .failure(GRPCStatus(.internalError, "server closed the stream without trailers")) }
        case .streamReset(stream, let code), .streamError(stream, let code, _):
            outcome = .failure(GRPCStatus(code == .refusedStream ? .unavailable : code == .cancel ? .cancelled : .internalError,
                                          "stream reset by the server: \(code)"))
        case .connectionError(let error):
            outcome = .failure(GRPCStatus(.unavailable, "\(error)"))
        case .goAway(let last, let code, let debug) where last < stream:
            outcome = .failure(GRPCStatus(.unavailable, "server sent GOAWAY \(code) \(debug)"))
        default:
            break
        }
    }

    private mutating func finish(trailers: [HeaderField]) {
        guard let statusText = trailers.first(where: { $0.name == "grpc-status" })?.value,
              let raw = Int(statusText), let code = GRPCStatusCode(rawValue: raw) else {
            outcome = .failure(GRPCStatus(.internalError, "trailers without a valid grpc-status"))
            return
        }
        guard code == .ok else {
            let message = trailers.first { $0.name == "grpc-message" }?.value ?? ""
            outcome = .failure(GRPCStatus(code, GRPCStatus.percentDecode(message)))
            return
        }
        guard messages.count == 1, !deframer.hasPartialMessage else {
            outcome = .failure(GRPCStatus(.internalError, "expected one response message, got \(messages.count)"))
            return
        }
        outcome = .success(messages[0])
    }

    /// grpc's HTTP-to-gRPC status mapping (http-grpc-status-mapping.md).
    static func code(forHTTPStatus status: String) -> GRPCStatusCode {
        switch status {
        case "400": .internalError
        case "401": .unauthenticated
        case "403": .permissionDenied
        case "404": .unimplemented
        case "429", "502", "503", "504": .unavailable
        default: .unknown
        }
    }
}
