import HPACK

/// What a handler knows about its call.
public struct GRPCCallContext: Sendable {
    public let path: String
    /// The request's header fields (pseudo-headers included).
    public let headers: [HeaderField]
    /// When the client's `grpc-timeout` runs out, if it sent one.
    public let deadline: ContinuousClock.Instant?
}
