/// How the two sides find each other and connect their QPs.
public enum ConnectionExchange: Sendable, CustomStringConvertible {
    /// A TCP side channel carries QPN, PSN, GID, rkey and address (perftest's default).
    case tcpSideChannel
    /// librdmacm resolves, connects and carries the hello as private data (perftest's -R).
    case rdmaCM

    public var description: String {
        switch self {
        case .tcpSideChannel: "TCP side channel"
        case .rdmaCM: "rdma_cm"
        }
    }
}

/// Everything one side of a run is asked to do.
public struct LatencyConfiguration: Sendable {
    public var parameters: TestParameters
    /// nil: the first device (TCP path) or the one rdma_cm routes through.
    public var deviceName: String?
    public var ibPort: UInt8 = 1
    /// nil: the RoCE v2 IPv4 GID (index 0 on InfiniBand).
    public var gidIndex: Int?
    /// nil: perftest's default for the test.
    public var inlineSize: Int?
    public var polling: CompletionPolling = .busy
    public var exchange: ConnectionExchange = .tcpSideChannel
    /// The server's address; nil makes this side the server.
    public var serverAddress: String?
    /// TCP port of the side channel, or the rdma_cm port.
    public var port: UInt16 = 18515
    /// How long to wait for the peer: to connect, and for any message or completion.
    public var timeoutSeconds: Double = 30
    /// How long the server waits for a client; nil waits forever (as perftest).
    public var listenTimeoutSeconds: Double?
    /// Where sysfs is (tests point this at a fixture tree).
    public var sysRoot: String = "/sys"

    public init(parameters: TestParameters) {
        self.parameters = parameters
    }

    public var isServer: Bool { serverAddress == nil }
    public var effectiveInlineSize: Int { inlineSize ?? parameters.test.defaultInlineSize }
}

/// What the run connected with, for the report header.
public struct RunDescription: Sendable {
    public var test: LatencyTest
    public var isServer: Bool
    public var device: String
    public var port: UInt8
    public var gidIndex: Int?
    public var gid: GID?
    public var gidType: String?
    public var pathMTU: Int
    public var inlineSize: Int
    public var outstandingReads: Int
    public var polling: CompletionPolling
    public var exchange: ConnectionExchange
    public var peer: String
    public var clock: String
    public var clockResolutionNanoseconds: UInt64
    public var iterations: Int
    public var warmupIterations: Int
    public var localQueuePairNumber: UInt32
    public var local: QueuePairAddress?
    public var remote: QueuePairAddress?
    public var remoteQueuePairNumber: UInt32?
}
