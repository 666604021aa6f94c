import HPACK
import HTTP2

/// One accepted connection: its socket, its HTTP/2 state and its calls.
final class GRPCServerConnection {
    let id: Int
    let socket: UnixSocket
    var http2: HTTP2Connection
    var writeBuffer: [UInt8] = []
    var writeOffset = 0
    var watchingWrites = false
    var calls: [UInt32: GRPCServerCall] = [:]
    /// Request bytes buffered across all calls, bounded so one client cannot make
    /// the daemon hold gigabytes.
    var bufferedRequestBytes = 0

    init(id: Int, socket: UnixSocket, configuration: HTTP2Connection.Configuration) {
        self.id = id
        self.socket = socket
        http2 = HTTP2Connection(role: .server, configuration: configuration)
    }

    var pendingWriteCount: Int { writeBuffer.count - writeOffset }
}

/// One RPC on a connection.
final class GRPCServerCall {
    let stream: UInt32
    let path: String
    let handler: GRPCHandler
    let context: GRPCCallContext
    var deframer: GRPCMessageDeframer
    var request: [UInt8]?
    var extraMessages = false
    var task: Task<Void, Never>?
    var headersSent = false
    /// Suspended `send` calls waiting for the peer to take queued data.
    var waiters: [CheckedContinuation<Void, Error>] = []

    init(stream: UInt32, path: String, handler: GRPCHandler, context: GRPCCallContext, maxMessageSize: Int) {
        self.stream = stream
        self.path = path
        self.handler = handler
        self.context = context
        deframer = GRPCMessageDeframer(maxMessageSize: maxMessageSize)
    }
}
