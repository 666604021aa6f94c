import HPACK

/// Why a send was refused: the owner's mistake or a stream that ended meanwhile.
public enum HTTP2SendError: Error, Equatable, CustomStringConvertible {
    case connectionClosed
    case streamNotOpen(UInt32)
    case streamAlreadyEnded(UInt32)
    case peerRefusesNewStreams(lastStreamID: UInt32)
    case tooManyStreams(limit: Int)

    public var description: String {
        switch self {
        case .connectionClosed: "the HTTP/2 connection is closed"
        case .streamNotOpen(let id): "stream \(id) is not open"
        case .streamAlreadyEnded(let id): "stream \(id) already ended on our side"
        case .peerRefusesNewStreams(let last): "the peer sent GOAWAY (last stream \(last)); no new streams"
        case .tooManyStreams(let limit): "the peer allows at most \(limit) concurrent streams"
        }
    }
}

extension HTTP2Connection {
    /// Opens a new stream with a request header block (client role) and returns its ID.
    public mutating func startStream(headers: [HeaderField], endStream: Bool) throws(HTTP2SendError) -> UInt32 {
        switch state {
        case .closed: throw .connectionClosed
        case .closing(_, goAwayReceived: let last?): throw .peerRefusesNewStreams(lastStreamID: last)
        case .awaitingPreface, .awaitingSettings, .open, .closing: break
        }
        if let limit = remoteSettings.maxConcurrentStreams, streams.count >= limit { throw .tooManyStreams(limit: limit) }
        let id = lastLocalStream == 0 ? (role == .client ? 1 : 2) : lastLocalStream + 2
        lastLocalStream = id
        var state = HTTP2StreamState(sendWindow: remoteSettings.initialWindowSize, receiveWindow: configuration.initialWindowSize)
        state.localClosed = endStream
        streams[id] = state
        writeHeaders(headers, stream: id, endStream: endStream)
        return id
    }

    /// Sends a header block on an open stream: response headers, or trailers with
    /// `endStream`. Queued behind any data still waiting for credit, so order holds.
    public mutating func sendHeaders(_ fields: [HeaderField], on stream: UInt32, endStream: Bool) throws(HTTP2SendError) {
        var state = try sendableState(stream)
        if endStream { state.localClosed = true }
        if state.pending.isEmpty {
            streams[stream] = state
            writeHeaders(fields, stream: stream, endStream: endStream)
            if state.isFinished { forget(stream, reset: false) }
        } else {
            state.pending.append(.headers(fields, endStream: endStream))
            streams[stream] = state
        }
    }

    /// Queues data on an open stream; it is written as the peer's flow-control
    /// windows allow, in frames no larger than the outbound frame limit.
    public mutating func sendData(_ bytes: [UInt8], on stream: UInt32, endStream: Bool) throws(HTTP2SendError) {
        var state = try sendableState(stream)
        if endStream { state.localClosed = true }
        state.pending.append(.data(bytes, endStream: endStream))
        state.pendingDataBytes += bytes.count
        streams[stream] = state
        if !sendQueue.contains(stream) { sendQueue.append(stream) }
        var ignored: [HTTP2Event] = []
        flushPendingData(events: &ignored)
    }

    /// Queues data on an open stream after dropping what is queued there and not yet
    /// begun: for a stream whose every message supersedes the ones before (a full
    /// state rather than a change), an unsent older message is worthless, so a peer
    /// that does not read holds at most the message being written and this one.
    /// A message partly written is kept, so the peer never sees a torn one.
    public mutating func sendDataReplacingQueued(_ bytes: [UInt8], on stream: UInt32) throws(HTTP2SendError) {
        var state = try sendableState(stream)
        let kept = state.headPartlyWritten ? 1 : 0
        var remaining = Array(state.pending.prefix(kept))
        for item in state.pending.dropFirst(kept) {
            if case .data(let queued, endStream: false) = item {
                state.pendingDataBytes -= queued.count
            } else {
                remaining.append(item)
            }
        }
        state.pending = remaining
        streams[stream] = state
        try sendData(bytes, on: stream, endStream: false)
    }

    private func sendableState(_ stream: UInt32) throws(HTTP2SendError) -> HTTP2StreamState {
        guard !isClosed else { throw .connectionClosed }
        guard let state = streams[stream] else { throw .streamNotOpen(stream) }
        guard !state.localClosed else { throw .streamAlreadyEnded(stream) }
        return state
    }

    /// Writes queued items while credit lasts, one frame per stream in turn so that
    /// a large response does not starve the others.
    mutating func flushPendingData(events: inout [HTTP2Event]) {
        guard !isClosed else { return }
        var progress = true
        while progress && !sendQueue.isEmpty {
            progress = false
            for id in sendQueue {
                guard var state = streams[id] else { continue }
                guard let item = state.pending.first else { continue }
                switch item {
                case .headers(let fields, let endStream):
                    state.pending.removeFirst()
                    streams[id] = state
                    writeHeaders(fields, stream: id, endStream: endStream)
                    progress = true
                case .data(let bytes, let endStream):
                    let allowance = min(outboundFrameLimit, connectionSendWindow, state.sendWindow)
                    // An empty frame needs no credit; a non-empty one needs some.
                    guard allowance > 0 || bytes.isEmpty else { continue }
                    let count = min(allowance, bytes.count)
                    let last = count == bytes.count
                    write(Frame(type: .data, flags: last && endStream ? .endStream : [], stream: id, payload: Array(bytes[..<count])))
                    connectionSendWindow -= count
                    state.sendWindow -= count
                    state.pendingDataBytes -= count
                    if last {
                        state.pending.removeFirst()
                    } else {
                        state.pending[0] = .data(Array(bytes[count...]), endStream: endStream)
                    }
                    state.headPartlyWritten = !last
                    streams[id] = state
                    progress = true
                }
            }
            let drained = sendQueue.filter { streams[$0]?.pending.isEmpty ?? true }
            sendQueue.removeAll { drained.contains($0) }
            for id in drained where streams[id]?.isFinished == true { forget(id, reset: false) }
        }
    }
}
