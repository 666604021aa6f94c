/// The handler's side of a server-streaming call: messages go to the server's
/// loop, which owns the connection. Holds only identifiers, so a call that ended
/// meanwhile is noticed by the loop and reported as an error.
final class GRPCStreamSink: Sendable {
    let loop: GRPCServerLoop
    let connection: Int
    let stream: UInt32

    init(loop: GRPCServerLoop, connection: Int, stream: UInt32) {
        self.loop = loop
        self.connection = connection
        self.stream = stream
    }

    func send(_ payload: [UInt8]) async throws {
        try Task.checkCancellation()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            loop.post { state in
                state.sendStreamMessage(connection: self.connection, stream: self.stream, payload: payload, continuation: continuation)
            }
        }
    }
}
