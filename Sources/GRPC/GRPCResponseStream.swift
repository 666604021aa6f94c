import ProtoWire

/// Sends the messages of a server-streaming response. `send` suspends while the
/// peer is not reading (flow control), so a slow client cannot make the server
/// buffer without bound; on a `.latestOnly` stream it replaces the unsent message
/// instead. It throws once the call has ended (cancelled, reset, deadline,
/// connection closed).
public struct GRPCResponseStream<Response: ProtoMessage>: Sendable {
    let sink: GRPCStreamSink

    public func send(_ message: Response) async throws {
        try await sink.send(message.serializedBytes())
    }
}
