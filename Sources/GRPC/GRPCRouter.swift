import ProtoWire

/// The type-erased handler the server stores per path.
enum GRPCHandler: Sendable {
    case unary(@Sendable ([UInt8], GRPCCallContext) async throws -> [UInt8])
    case serverStreaming(GRPCStreamCoalescing, @Sendable ([UInt8], GRPCStreamSink, GRPCCallContext) async throws -> Void)
}

/// Maps `:path` to handlers. Build one, then hand it to a `GRPCServer`.
public struct GRPCRouter: Sendable {
    var handlers: [String: GRPCHandler] = [:]

    public init() {}

    public mutating func register<Request, Response>(
        _ method: GRPCMethod<Request, Response>,
        _ handler: @escaping @Sendable (Request, GRPCCallContext) async throws -> Response
    ) {
        handlers[method.path] = .unary { bytes, context in
            let request = try decodeRequest(Request.self, bytes, path: method.path)
            return try await handler(request, context).serializedBytes()
        }
    }

    /// A server-streaming method. With `coalescing: .latestOnly` a peer that does not
    /// read gets only the newest unsent message, for streams of full states.
    public mutating func registerStreaming<Request, Response>(
        _ method: GRPCMethod<Request, Response>,
        coalescing: GRPCStreamCoalescing = .everyMessage,
        _ handler: @escaping @Sendable (Request, GRPCResponseStream<Response>, GRPCCallContext) async throws -> Void
    ) {
        handlers[method.path] = .serverStreaming(coalescing) { bytes, sink, context in
            let request = try decodeRequest(Request.self, bytes, path: method.path)
            try await handler(request, GRPCResponseStream(sink: sink), context)
        }
    }

    /// grpc-go's wording for unknown services and methods.
    func unimplemented(_ path: String) -> GRPCStatus {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        if parts.count == 2 {
            let service = String(parts[0])
            if handlers.keys.contains(where: { $0.hasPrefix("/\(service)/") }) {
                return GRPCStatus(.unimplemented, "unknown method \(parts[1]) for service \(service)")
            }
            return GRPCStatus(.unimplemented, "unknown service \(service)")
        }
        return GRPCStatus(.unimplemented, "malformed method name: \"\(path)\"")
    }
}

private func decodeRequest<Request: ProtoMessage>(_ type: Request.Type, _ bytes: [UInt8], path: String) throws -> Request {
    do {
        return try Request(serializedBytes: bytes)
    } catch {
        throw GRPCStatus(.internalError, "grpc: error unmarshalling request for \(path): \(error)")
    }
}
