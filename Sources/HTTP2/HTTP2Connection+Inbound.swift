import HPACK

extension HTTP2Connection {
    /// Feeds bytes read from the peer and returns what happened, in order. After a
    /// `.connectionError` event the connection accepts nothing more.
    public mutating func receive(_ bytes: some Collection<UInt8>) -> [HTTP2Event] {
        guard !isClosed else { return [] }
        parser.append(bytes)
        var events: [HTTP2Event] = []
        do throws(HTTP2ConnectionError) {
            if state == .awaitingPreface {
                // Fail early on a wrong prefix rather than waiting for 24 bytes.
                let received = parser.peekBytes(upTo: http2ClientPreface.count)
                guard received.elementsEqual(http2ClientPreface.prefix(received.count)) else {
                    throw HTTP2ConnectionError(.protocolError, "invalid connection preface")
                }
                guard parser.takeBytes(http2ClientPreface.count) != nil else { return events }
                state = .awaitingSettings
            }
            while !isClosed, let frame = try parser.nextFrame() {
                try handle(frame, events: &events)
            }
        } catch {
            fail(error, events: &events)
        }
        flushPendingData(events: &events)
        return events
    }

    private mutating func handle(_ frame: Frame, events: inout [HTTP2Event]) throws(HTTP2ConnectionError) {
        // §3.4: the first frame from the peer is SETTINGS.
        if state == .awaitingSettings && (frame.type != .settings || frame.flags.contains(.ack)) {
            throw HTTP2ConnectionError(.protocolError, "first frame is \(frame.type), not SETTINGS")
        }
        // §6.10: while a header block is open only its CONTINUATION frames may come.
        if let block = headerBlock, frame.type != .continuation || frame.stream != block.stream {
            throw HTTP2ConnectionError(.protocolError, "\(frame.type) on stream \(frame.stream) inside a header block of stream \(block.stream)")
        }
        do {
            switch frame.type {
            case .data: try handleData(frame, events: &events)
            case .headers: try handleHeaders(frame, events: &events)
            case .continuation: try handleContinuation(frame, events: &events)
            case .priority: try handlePriority(frame)
            case .rstStream: try handleReset(frame, events: &events)
            case .settings: try handleSettings(frame, events: &events)
            case .pushPromise:
                throw HTTP2ConnectionError(.protocolError, "PUSH_PROMISE received; push is not enabled")
            case .ping: try handlePing(frame)
            case .goAway: try handleGoAway(frame, events: &events)
            case .windowUpdate: try handleWindowUpdate(frame, events: &events)
            case .unknown: break  // §5.5: unknown frame types are ignored
            }
        } catch let error as HTTP2StreamError {
            streamFailed(error, events: &events)
        } catch let error as HTTP2ConnectionError {
            throw error
        } catch {
            throw HTTP2ConnectionError(.internalError, "\(error)")
        }
    }

    /// Answers a stream error with RST_STREAM, telling the owner if it knew the stream.
    mutating func streamFailed(_ error: HTTP2StreamError, events: inout [HTTP2Event]) {
        let announced = streams[error.stream]?.announced ?? false
        resetStream(error.stream, code: error.code)
        if announced { events.append(.streamError(stream: error.stream, code: error.code, reason: error.reason)) }
    }

    // MARK: Stream identity

    private func isPeerInitiated(_ stream: UInt32) -> Bool {
        // Clients open odd streams, servers even ones (§5.1.1).
        (stream % 2 == 1) == (role == .server)
    }

    /// Idle: never opened by either side (§5.1).
    private func isIdle(_ stream: UInt32) -> Bool {
        isPeerInitiated(stream) ? stream > lastPeerStream : stream > lastLocalStream
    }

    /// Strips padding (§6.1, §6.2): a pad length not shorter than the payload is a
    /// connection error PROTOCOL_ERROR.
    private func unpadded(_ frame: Frame, extraPrefix: Int = 0) throws(HTTP2ConnectionError) -> ArraySlice<UInt8> {
        var payload = frame.payload[...]
        if frame.flags.contains(.padded) {
            guard let padLength = payload.first.map(Int.init), padLength + 1 + extraPrefix <= payload.count else {
                throw HTTP2ConnectionError(.protocolError, "\(frame.type) padding exceeds the payload on stream \(frame.stream)")
            }
            payload = payload.dropFirst().dropLast(padLength)
        }
        return payload
    }

    // MARK: DATA (§6.1)

    private mutating func handleData(_ frame: Frame, events: inout [HTTP2Event]) throws {
        guard frame.stream != 0 else { throw HTTP2ConnectionError(.protocolError, "DATA on stream 0") }
        if isIdle(frame.stream) { throw HTTP2ConnectionError(.protocolError, "DATA on idle stream \(frame.stream)") }
        let payload = try unpadded(frame)
        // Flow control counts the whole payload, padding included (§6.9.1).
        let length = frame.payload.count
        guard length <= connectionReceiveWindow else {
            throw HTTP2ConnectionError(.flowControlError, "DATA of \(length) bytes exceeds the connection window \(connectionReceiveWindow)")
        }
        connectionReceiveWindow -= length
        returnConnectionCredit(length)

        guard var state = streams[frame.stream], !state.remoteClosed else {
            if recentlyReset.contains(frame.stream) { return }
            throw HTTP2StreamError(frame.stream, .streamClosed, "DATA on closed stream \(frame.stream)")
        }
        guard length <= state.receiveWindow else {
            throw HTTP2StreamError(frame.stream, .flowControlError, "DATA of \(length) bytes exceeds the stream window \(state.receiveWindow)")
        }
        state.receiveWindow -= length
        state.receivedDataBytes += payload.count
        let endStream = frame.flags.contains(.endStream)
        if let expected = state.expectedContentLength,
           state.receivedDataBytes > expected || (endStream && state.receivedDataBytes != expected) {
            streams[frame.stream] = state
            throw HTTP2StreamError(frame.stream, .protocolError, "content-length \(expected) but \(state.receivedDataBytes) bytes of DATA")
        }
        if endStream {
            state.remoteClosed = true
        } else {
            // Return stream credit once a quarter of the window is used, as grpc-go does.
            state.receiveUnacknowledged += length
            if state.receiveUnacknowledged >= configuration.initialWindowSize / 4 {
                writeWindowUpdate(stream: frame.stream, increment: state.receiveUnacknowledged)
                state.receiveWindow += state.receiveUnacknowledged
                state.receiveUnacknowledged = 0
            }
        }
        streams[frame.stream] = state
        events.append(.data(stream: frame.stream, bytes: Array(payload), endStream: endStream))
        if state.isFinished { forget(frame.stream, reset: false) }
    }

    private mutating func returnConnectionCredit(_ length: Int) {
        connectionReceiveUnacknowledged += length
        if connectionReceiveUnacknowledged >= configuration.connectionWindowSize / 4 {
            writeWindowUpdate(stream: 0, increment: connectionReceiveUnacknowledged)
            connectionReceiveWindow += connectionReceiveUnacknowledged
            connectionReceiveUnacknowledged = 0
        }
    }

    // MARK: HEADERS (§6.2) and CONTINUATION (§6.10)

    private mutating func handleHeaders(_ frame: Frame, events: inout [HTTP2Event]) throws {
        guard frame.stream != 0 else { throw HTTP2ConnectionError(.protocolError, "HEADERS on stream 0") }
        var fragment = try unpadded(frame, extraPrefix: frame.flags.contains(.priority) ? 5 : 0)
        var deferred: HTTP2StreamError?
        if frame.flags.contains(.priority) {
            guard fragment.count >= 5 else { throw HTTP2ConnectionError(.frameSizeError, "HEADERS priority block truncated") }
            if readUInt32(fragment, at: 0) & 0x7fff_ffff == frame.stream {
                deferred = HTTP2StreamError(frame.stream, .protocolError, "stream \(frame.stream) depends on itself")
            }
            fragment = fragment.dropFirst(5)
        }
        let block = PartialHeaderBlock(stream: frame.stream, endStream: frame.flags.contains(.endStream),
                                       fragment: Array(fragment), deferredError: deferred)
        if frame.flags.contains(.endHeaders) {
            try completeHeaderBlock(block, events: &events)
        } else {
            headerBlock = block
        }
    }

    private mutating func handleContinuation(_ frame: Frame, events: inout [HTTP2Event]) throws {
        guard var block = headerBlock else {
            throw HTTP2ConnectionError(.protocolError, "CONTINUATION without a preceding HEADERS on stream \(frame.stream)")
        }
        block.fragment.append(contentsOf: frame.payload)
        // A block that grows past what a legal header list could encode to is a
        // CONTINUATION flood (RFC 9113 §10.5): refuse to buffer it.
        guard block.fragment.count <= configuration.maxHeaderListSize * 2 else {
            throw HTTP2ConnectionError(.enhanceYourCalm, "header block of stream \(block.stream) exceeds \(configuration.maxHeaderListSize * 2) bytes")
        }
        if frame.flags.contains(.endHeaders) {
            headerBlock = nil
            try completeHeaderBlock(block, events: &events)
        } else {
            headerBlock = block
        }
    }

    private mutating func completeHeaderBlock(_ block: PartialHeaderBlock, events: inout [HTTP2Event]) throws {
        let fields: [HeaderField]
        do {
            fields = try decoder.decode(block.fragment)
        } catch HPACKError.headerListTooLarge(let size, let limit) {
            // The decoder kept its table in step, so only this stream fails (§10.5.1).
            try refuseOversizedHeaders(block, size: size, limit: limit)
            return
        } catch {
            // §4.3: a field block that cannot be decoded is a COMPRESSION_ERROR.
            throw HTTP2ConnectionError(.compressionError, "header block of stream \(block.stream): \(error)")
        }
        let id = block.stream

        if var state = streams[id] {
            // A second block on an open stream is trailers and must end it (§8.1).
            guard !state.remoteClosed else { throw HTTP2StreamError(id, .streamClosed, "HEADERS on half-closed stream \(id)") }
            if let error = block.deferredError { throw error }
            if role == .client && !state.announced {
                if let problem = HeaderValidation.checkResponse(fields) { throw HTTP2StreamError(id, .protocolError, problem) }
            } else {
                guard block.endStream else { throw HTTP2StreamError(id, .protocolError, "trailers on stream \(id) without END_STREAM") }
                if let problem = HeaderValidation.checkTrailers(fields) { throw HTTP2StreamError(id, .protocolError, problem) }
            }
            state.announced = true
            if block.endStream { state.remoteClosed = true }
            streams[id] = state
            events.append(.headers(stream: id, fields: fields, endStream: block.endStream))
            if state.isFinished { forget(id, reset: false) }
            return
        }

        guard isPeerInitiated(id), isIdle(id) else {
            if recentlyReset.contains(id) { return }
            if role == .client && !isPeerInitiated(id) && isIdle(id) {
                throw HTTP2ConnectionError(.protocolError, "HEADERS on stream \(id), which we never opened")
            }
            if !isPeerInitiated(id) && role == .server {
                throw HTTP2ConnectionError(.protocolError, "client opened even-numbered stream \(id)")
            }
            throw HTTP2ConnectionError(.streamClosed, "HEADERS on closed stream \(id)")
        }
        guard role == .server else { throw HTTP2ConnectionError(.protocolError, "server opened stream \(id)") }
        lastPeerStream = id
        if let limit = state.goAwaySent, id > limit { return }  // §6.8: ignored after GOAWAY
        if let error = block.deferredError { throw error }
        guard streams.count < configuration.maxConcurrentStreams else {
            throw HTTP2StreamError(id, .refusedStream, "more than \(configuration.maxConcurrentStreams) concurrent streams")
        }
        if let problem = HeaderValidation.checkRequest(fields) { throw HTTP2StreamError(id, .protocolError, problem) }

        var state = HTTP2StreamState(sendWindow: remoteSettings.initialWindowSize, receiveWindow: configuration.initialWindowSize)
        state.announced = true
        state.remoteClosed = block.endStream
        if let length = fields.first(where: { $0.name == "content-length" }) {
            guard let expected = Int(length.value), expected >= 0 else {
                streams[id] = state
                throw HTTP2StreamError(id, .protocolError, "invalid content-length \(length.value)")
            }
            state.expectedContentLength = expected
            if block.endStream && expected != 0 {
                streams[id] = state
                throw HTTP2StreamError(id, .protocolError, "content-length \(expected) on a request without DATA")
            }
        }
        streams[id] = state
        events.append(.headers(stream: id, fields: fields, endStream: block.endStream))
    }

    /// A new request whose header list is over our limit gets 431 (RFC 9113 §10.5.1,
    /// RFC 6585 §5) and RST_STREAM(NO_ERROR); anything else oversized is a stream error.
    private mutating func refuseOversizedHeaders(_ block: PartialHeaderBlock, size: Int, limit: Int) throws {
        let id = block.stream
        guard role == .server, streams[id] == nil, isPeerInitiated(id), isIdle(id) else {
            throw HTTP2StreamError(id, .protocolError, "header list of \(size) bytes exceeds \(limit)")
        }
        lastPeerStream = id
        writeHeaders([HeaderField(name: ":status", value: "431")], stream: id, endStream: true)
        writeReset(stream: id, code: .noError)
        forget(id, reset: true)
    }

    // MARK: PRIORITY (§6.3), RST_STREAM (§6.4)

    private func handlePriority(_ frame: Frame) throws {
        guard frame.stream != 0 else { throw HTTP2ConnectionError(.protocolError, "PRIORITY on stream 0") }
        guard frame.payload.count == 5 else {
            throw HTTP2StreamError(frame.stream, .frameSizeError, "PRIORITY of \(frame.payload.count) bytes")
        }
        if readUInt32(frame.payload[...], at: 0) & 0x7fff_ffff == frame.stream {
            throw HTTP2StreamError(frame.stream, .protocolError, "stream \(frame.stream) depends on itself")
        }
        // Priorities are deprecated (RFC 9113 §5.3.2) and ignored here.
    }

    private mutating func handleReset(_ frame: Frame, events: inout [HTTP2Event]) throws {
        guard frame.stream != 0 else { throw HTTP2ConnectionError(.protocolError, "RST_STREAM on stream 0") }
        guard frame.payload.count == 4 else {
            throw HTTP2ConnectionError(.frameSizeError, "RST_STREAM of \(frame.payload.count) bytes")
        }
        if isIdle(frame.stream) { throw HTTP2ConnectionError(.protocolError, "RST_STREAM on idle stream \(frame.stream)") }
        guard let state = streams[frame.stream] else { return }
        forget(frame.stream, reset: false)
        if state.announced || role == .client {
            events.append(.streamReset(stream: frame.stream, code: HTTP2ErrorCode(rawValue: readUInt32(frame.payload[...], at: 0))))
        }
    }

    // MARK: SETTINGS (§6.5), PING (§6.7), GOAWAY (§6.8), WINDOW_UPDATE (§6.9)

    private mutating func handleSettings(_ frame: Frame, events: inout [HTTP2Event]) throws {
        guard frame.stream == 0 else { throw HTTP2ConnectionError(.protocolError, "SETTINGS on stream \(frame.stream)") }
        if frame.flags.contains(.ack) {
            guard frame.payload.isEmpty else { throw HTTP2ConnectionError(.frameSizeError, "SETTINGS ACK with a payload") }
            return
        }
        let previousWindow = remoteSettings.initialWindowSize
        try remoteSettings.apply(payload: frame.payload)
        // §6.9.2: a new initial window size shifts every open stream's send window.
        let delta = remoteSettings.initialWindowSize - previousWindow
        if delta != 0 {
            for id in streams.keys {
                streams[id]!.sendWindow += delta
                if streams[id]!.sendWindow > HTTP2Settings.maxWindowSize {
                    throw HTTP2ConnectionError(.flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE overflows the window of stream \(id)")
                }
            }
        }
        // Our encoder's table never outgrows 4096 bytes, whatever the peer allows.
        encoder.setMaxTableSize(min(remoteSettings.headerTableSize, 4096))
        write(Frame(type: .settings, flags: .ack, stream: 0))
        if state == .awaitingSettings {
            state = .open
            events.append(.ready)
        }
        if delta > 0 && !sendQueue.isEmpty { events.append(.windowOpened) }
    }

    private mutating func handlePing(_ frame: Frame) throws {
        guard frame.stream == 0 else { throw HTTP2ConnectionError(.protocolError, "PING on stream \(frame.stream)") }
        guard frame.payload.count == 8 else { throw HTTP2ConnectionError(.frameSizeError, "PING of \(frame.payload.count) bytes") }
        if !frame.flags.contains(.ack) {
            write(Frame(type: .ping, flags: .ack, stream: 0, payload: frame.payload))
        }
    }

    private mutating func handleGoAway(_ frame: Frame, events: inout [HTTP2Event]) throws {
        guard frame.stream == 0 else { throw HTTP2ConnectionError(.protocolError, "GOAWAY on stream \(frame.stream)") }
        guard frame.payload.count >= 8 else { throw HTTP2ConnectionError(.frameSizeError, "GOAWAY of \(frame.payload.count) bytes") }
        let last = readUInt32(frame.payload[...], at: 0) & 0x7fff_ffff
        let code = HTTP2ErrorCode(rawValue: readUInt32(frame.payload[...], at: 4))
        switch state {
        case .open: state = .closing(goAwaySent: nil, goAwayReceived: last)
        case .closing(let sent, _): state = .closing(goAwaySent: sent, goAwayReceived: last)
        case .awaitingPreface, .awaitingSettings, .closed: break  // unreachable: SETTINGS comes first, nothing is read once closed
        }
        events.append(.goAway(lastStreamID: last, code: code, debug: String(decoding: frame.payload.dropFirst(8), as: UTF8.self)))
        // Streams we opened above `last` were not processed and can be retried (§6.8).
        for id in streams.keys.sorted() where !isPeerInitiated(id) && id > last {
            forget(id, reset: false)
            events.append(.streamReset(stream: id, code: .refusedStream))
        }
    }

    private mutating func handleWindowUpdate(_ frame: Frame, events: inout [HTTP2Event]) throws {
        guard frame.payload.count == 4 else {
            throw HTTP2ConnectionError(.frameSizeError, "WINDOW_UPDATE of \(frame.payload.count) bytes")
        }
        let increment = Int(readUInt32(frame.payload[...], at: 0) & 0x7fff_ffff)
        if frame.stream == 0 {
            guard increment > 0 else { throw HTTP2ConnectionError(.protocolError, "WINDOW_UPDATE of 0 on the connection") }
            connectionSendWindow += increment
            guard connectionSendWindow <= HTTP2Settings.maxWindowSize else {
                throw HTTP2ConnectionError(.flowControlError, "connection window overflows 2^31-1")
            }
            if !sendQueue.isEmpty { events.append(.windowOpened) }
            return
        }
        if isIdle(frame.stream) { throw HTTP2ConnectionError(.protocolError, "WINDOW_UPDATE on idle stream \(frame.stream)") }
        guard var state = streams[frame.stream] else { return }  // closed: ignored
        guard increment > 0 else { throw HTTP2StreamError(frame.stream, .protocolError, "WINDOW_UPDATE of 0 on stream \(frame.stream)") }
        state.sendWindow += increment
        guard state.sendWindow <= HTTP2Settings.maxWindowSize else {
            throw HTTP2StreamError(frame.stream, .flowControlError, "window of stream \(frame.stream) overflows 2^31-1")
        }
        streams[frame.stream] = state
        if !state.pending.isEmpty { events.append(.windowOpened) }
    }
}
