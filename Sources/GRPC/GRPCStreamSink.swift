import Synchronization

/// The handler's side of a server-streaming call: messages go to the server's
/// loop, which owns the connection. Holds only identifiers, so a call that ended
/// meanwhile is noticed by the loop and reported as an error.
///
/// While the stream is under its high-water mark, `send` hands the message to the
/// loop and returns without waiting for it: a burst of messages then costs one
/// wake-up and one write instead of a round trip each. Once the loop reports the
/// stream over the mark (or the call gone), sends wait for the loop again, so
/// buffering stays bounded and a send after the call ended throws.
final class GRPCStreamSink: Sendable {
    let loop: GRPCServerLoop
    let call: GRPCServerCalls.CallKey
    let coalescing: GRPCStreamCoalescing
    /// Sends posted without waiting that the loop has not performed yet.
    private let unperformed = Atomic<Int>(0)
    /// Set by the loop when the stream is over its high-water mark or the call ended.
    private let mustWait = Atomic<Bool>(false)
    /// How many sends may be in the loop's mailbox unawaited: bounds what a handler
    /// can queue while the loop has not yet seen the stream go over its mark.
    static let maxUnperformed = 64

    init(loop: GRPCServerLoop, call: GRPCServerCalls.CallKey, coalescing: GRPCStreamCoalescing) {
        self.loop = loop
        self.call = call
        self.coalescing = coalescing
    }

    func send(_ payload: [UInt8]) async throws {
        try Task.checkCancellation()
        if !mustWait.load(ordering: .acquiring) && unperformed.load(ordering: .relaxed) < Self.maxUnperformed {
            _ = unperformed.add(1, ordering: .relaxed)
            loop.post { state in
                _ = self.unperformed.subtract(1, ordering: .relaxed)
                state.calls.sendStreamMessage(self.call, payload: payload, sink: self, continuation: nil)
            }
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            loop.post { state in
                state.calls.sendStreamMessage(self.call, payload: payload, sink: self, continuation: continuation)
            }
        }
    }

    /// Loop thread: whether the next send has to wait for the loop.
    func setMustWait(_ value: Bool) {
        mustWait.store(value, ordering: .releasing)
    }
}
