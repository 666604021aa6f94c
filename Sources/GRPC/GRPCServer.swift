import HTTP2
import SystemSupport
import Synchronization

/// A gRPC server on a Unix-domain socket: HTTP/2 with prior knowledge (h2c), any
/// `:authority`, unary and server-streaming methods, many concurrent calls per
/// connection. One loop thread does all socket I/O; handlers run as tasks.
public final class GRPCServer: Sendable {
    public struct Configuration: Sendable {
        public var http2 = HTTP2Connection.Configuration()
        /// Largest request message accepted (grpc-go's and C-core's default, 4 MiB).
        public var maxReceiveMessageSize = GRPCMessageFraming.defaultMaxMessageSize
        /// Request bytes one connection may have buffered across its calls.
        public var maxBufferedRequestBytes = 16 * 1024 * 1024
        /// Connections open at once. The next one is accepted and closed at once, after
        /// a GOAWAY (ENHANCE_YOUR_CALM) that says why: left in the backlog it would keep
        /// the listener readable and its client waiting for SETTINGS that never come.
        /// kubelet uses one connection per plugin socket.
        public var maxConnections = 16
        /// Time a new connection has to send the client preface and its first SETTINGS
        /// (kubelet sends both at once); then it is closed with GOAWAY SETTINGS_TIMEOUT.
        public var handshakeTimeout: Duration = .seconds(10)
        /// Outbound bytes a connection may have written but not sent before it counts as
        /// stuck and is closed.
        public var maxPendingWriteBytes = 16 * 1024 * 1024
        /// Outbound bytes all connections together may hold: unsent writes (PING and
        /// SETTINGS ACKs included) and response data waiting for flow-control credit.
        /// Over it, the connection holding the most is closed with GOAWAY
        /// ENHANCE_YOUR_CALM, until the total is under it again.
        public var maxQueuedBytes = 32 * 1024 * 1024
        /// How long the listener rests after accepting fails for want of descriptors
        /// (EMFILE, ENFILE) or memory, instead of retrying at once.
        public var acceptBackoff: Duration = .milliseconds(100)
        /// Receives one line when a limit starts refusing (connections over
        /// `maxConnections`, descriptors exhausted) and one per connection a limit
        /// closes; the daemon logs them as warnings.
        public var log: @Sendable (String) -> Void = { _ in }
        /// A streaming handler's `send` waits while more than this is queued on its stream.
        public var streamHighWaterMark = 1024 * 1024
        /// Mode of the socket file.
        public var socketMode: UInt32 = 0o600
        /// Stack of the loop thread, in bytes; nil: the system's default.
        public var loopThreadStackSize: Int? = nil
        public init() {}
    }

    public let socketPath: String
    private let loop: GRPCServerLoop
    private let thread = Mutex<OSThread?>(nil)
    private let gauges = ServerGauges()

    /// Binds `socketPath` (replacing a stale socket file there) and starts serving.
    public init(socketPath: String, router: GRPCRouter, configuration: Configuration = Configuration()) throws {
        self.socketPath = socketPath
        let listener = try UnixSocket.listen(path: socketPath, mode: configuration.socketMode)
        let loop = try GRPCServerLoop(listener: listener, router: router, configuration: configuration, gauges: gauges, socketPath: socketPath)
        self.loop = loop
        do throws(ThreadStartError) {
            let started = try OSThread.start(name: "grpc-server", stackSize: configuration.loopThreadStackSize) { loop.run() }
            thread.withLock { $0 = started }
        } catch {
            // The loop never ran: stopped before it starts, it only closes what it holds.
            loop.requestStop()
            loop.run()
            UnixSocket.remove(path: socketPath)
            throw SocketError(operation: "start the server thread for", path: socketPath, errno: error.errno.rawValue)
        }
    }

    /// Connections currently open.
    public var connectionCount: Int { gauges.connections.load(ordering: .relaxed) }

    /// Outbound bytes queued on all connections, as `maxQueuedBytes` counts them.
    public var queuedBytes: Int { gauges.queuedBytes.load(ordering: .relaxed) }

    /// Stops serving: every connection gets GOAWAY and is closed, handlers are
    /// cancelled, the socket file is removed. Returns when the loop has ended. Only the
    /// first call does anything: a later one (deinit's) must not remove a socket file
    /// that a new server has bound at the same path meanwhile.
    public func stop() {
        let thread = self.thread.withLock { thread -> OSThread? in
            defer { thread = nil }
            return thread
        }
        guard let thread else { return }
        loop.requestStop()
        thread.join()
        UnixSocket.remove(path: socketPath)
    }

    deinit { stop() }
}

/// The loop thread publishes its figures here for `connectionCount` and `queuedBytes`.
final class ServerGauges: Sendable {
    let connections = Atomic<Int>(0)
    let queuedBytes = Atomic<Int>(0)
}
