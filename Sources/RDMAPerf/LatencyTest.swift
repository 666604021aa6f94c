/// The three perftest latency tests.
public enum LatencyTest: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// SEND/RECV ping-pong (ib_send_lat).
    case send = 1
    /// RDMA WRITE ping-pong, arrival seen by polling the last byte (ib_write_lat).
    case write = 2
    /// RDMA READ issued by the client alone (ib_read_lat).
    case read = 3

    public var description: String {
        switch self {
        case .send: "send"
        case .write: "write"
        case .read: "read"
        }
    }

    /// The banner title perftest prints for the test.
    public var title: String {
        switch self {
        case .send: "Send Latency Test"
        case .write: "RDMA Write Latency Test"
        case .read: "RDMA Read Latency Test"
        }
    }

    /// How many one-way trips one sample spans: perftest reports half the round
    /// trip of a ping-pong (send, write) and the whole round trip of a read
    /// (`rtt_factor` in perftest_parameters.c print_report_lat).
    public var tripsPerSample: Int {
        switch self {
        case .send, .write: 2
        case .read: 1
        }
    }

    /// Whether both sides take samples; a read needs no CPU on the responder.
    public var serverMeasures: Bool { self != .read }

    /// perftest's default inline size for RC latency tests (DEF_INLINE_SEND_RC_UC,
    /// DEF_INLINE_WRITE); a read carries no payload in its request.
    public var defaultInlineSize: Int {
        switch self {
        case .send: 236
        case .write: 220
        case .read: 0
        }
    }
}
