import ProtoWire

/// A method of a service: its HTTP/2 `:path` and its message types.
public struct GRPCMethod<Request: ProtoMessage, Response: ProtoMessage>: Sendable {
    /// `/package.Service/Method`.
    public let path: String
    public init(path: String) { self.path = path }
}
