import HTTP2

/// One accepted connection: its socket, its HTTP/2 state and the bytes waiting to
/// be written. Loop thread only.
final class GRPCServerConnection {
    let id: Int
    let socket: UnixSocket
    var http2: HTTP2Connection
    private var writeBuffer: [UInt8] = []
    private var writeOffset = 0
    /// Whether the loop watches the socket for writability (only while bytes wait).
    var watchingWrites = false

    init(id: Int, socket: UnixSocket, configuration: HTTP2Connection.Configuration) {
        self.id = id
        self.socket = socket
        http2 = HTTP2Connection(role: .server, configuration: configuration)
    }

    var pendingWriteCount: Int { writeBuffer.count - writeOffset }

    /// Outbound bytes this connection holds: written but not sent, and response data
    /// waiting for the peer's flow-control credit.
    var queuedBytes: Int { pendingWriteCount + http2.queuedDataBytes }

    /// Reads what the socket has and feeds it to HTTP/2, passing each event to
    /// `handle`. Returns false when the peer is gone (end of stream, read error).
    func read(into buffer: inout [UInt8], _ handle: (HTTP2Event) -> Void) -> Bool {
        // Up to four buffers per wake-up, so one busy peer cannot starve the rest.
        for _ in 0..<4 {
            switch socket.read(into: &buffer) {
            case .bytes(let count):
                for event in http2.receive(buffer[0..<count]) { handle(event) }
                if http2.isClosed || count < buffer.count { return true }
            case .wouldBlock:
                return true
            case .endOfStream, .failed:
                return false
            }
        }
        return true
    }

    /// Moves HTTP/2's outbound bytes to the write buffer and writes what the socket
    /// takes. Returns false when the connection is to be closed: a write failed,
    /// HTTP/2 closed and everything is written, or more than `maxPendingWriteBytes`
    /// wait (the peer stopped reading; a PING flood with no reads, say).
    func flush(maxPendingWriteBytes: Int) -> Bool {
        let outbound = http2.takeOutbound()
        if !outbound.isEmpty {
            if writeOffset > 0 && writeOffset == writeBuffer.count {
                writeBuffer.removeAll(keepingCapacity: true)
                writeOffset = 0
            }
            writeBuffer.append(contentsOf: outbound)
        }
        while pendingWriteCount > 0 {
            do {
                let written = try socket.write(writeBuffer[writeOffset...])
                if written == 0 { break }
                writeOffset += written
            } catch {
                return false
            }
        }
        if pendingWriteCount == 0 {
            writeBuffer.removeAll(keepingCapacity: true)
            writeOffset = 0
            return !http2.isClosed
        }
        return pendingWriteCount <= maxPendingWriteBytes
    }
}
