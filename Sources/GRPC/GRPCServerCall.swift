/// One RPC on a connection.
final class GRPCServerCall {
    let connection: GRPCServerConnection
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

    init(connection: GRPCServerConnection, stream: UInt32, path: String, handler: GRPCHandler, context: GRPCCallContext,
         maxMessageSize: Int) {
        self.connection = connection
        self.stream = stream
        self.path = path
        self.handler = handler
        self.context = context
        deframer = GRPCMessageDeframer(maxMessageSize: maxMessageSize)
    }
}
