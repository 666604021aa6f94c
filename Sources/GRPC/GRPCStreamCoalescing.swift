/// What a server-streaming call keeps queued while its peer does not read.
public enum GRPCStreamCoalescing: Sendable {
    /// Every message, in order. `send` waits once more than the server's
    /// `streamHighWaterMark` is queued on the stream.
    case everyMessage
    /// Only the newest message not yet begun: each message supersedes those before
    /// it, as a full state does (ListAndWatch sends the whole device list each
    /// time). A peer that does not read holds at most the message being written and
    /// the newest one, and `send` never waits for it.
    case latestOnly
}
