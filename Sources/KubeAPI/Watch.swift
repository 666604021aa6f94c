import JSONValue

/// One event of a watch: what happened and the object as it is now (for DELETED, as it
/// was; for BOOKMARK, only its resourceVersion; for ERROR, a Status: 410 Gone means
/// the resourceVersion is too old and the caller must list again).
public struct WatchEvent: Sendable, Equatable {
    public enum EventType: String, Sendable {
        case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR"
    }

    public var type: EventType
    public var object: JSON

    public init(type: EventType, object: JSON) {
        self.type = type
        self.object = object
    }

    /// The object's metadata.resourceVersion, from which a new watch continues.
    public var resourceVersion: String? { object["metadata"]?["resourceVersion"]?.stringValue }
}

/// Why a watch returned (failures throw).
public enum WatchEnd: Sendable, Equatable {
    /// The callback returned false.
    case stoppedByCallback
    /// The cancellation was signalled.
    case cancelled
    /// The server ended the stream: its timeoutSeconds passed, or it is shutting down.
    case closedByServer
}

/// The watch stream's framing: one JSON event per line (the API server's
/// "application/json;stream=watch", newline-delimited), split as bytes arrive.
struct WatchStreamDecoder {
    private var pending: [UInt8] = []
    let maximumLine: Int

    init(maximumLine: Int) { self.maximumLine = maximumLine }

    /// The events completed by `bytes`.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(KubeAPIError.Failure) -> [WatchEvent] {
        var events: [WatchEvent] = []
        var start = 0
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            pending.append(contentsOf: bytes[start..<offset])
            start = offset + 1
            if let event = try decodeLine() { events.append(event) }
        }
        pending.append(contentsOf: bytes[start...])
        guard pending.count <= maximumLine else {
            throw .malformedResponse("a watch event longer than \(maximumLine) bytes")
        }
        return events
    }

    /// The last event, when the stream ended without a newline after it.
    mutating func finish() throws(KubeAPIError.Failure) -> WatchEvent? {
        try decodeLine()
    }

    private mutating func decodeLine() throws(KubeAPIError.Failure) -> WatchEvent? {
        defer { pending.removeAll(keepingCapacity: true) }
        guard pending.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return nil }
        let document: JSON
        do throws(JSONSyntaxError) {
            document = try JSON.parse(pending)
        } catch {
            throw .malformedResponse("a watch event that is not JSON: \(error)")
        }
        guard let typeName = document["type"]?.stringValue, let type = WatchEvent.EventType(rawValue: typeName) else {
            throw .malformedResponse("a watch event without a known type: \(String(document.serialized.prefix(200)))")
        }
        return WatchEvent(type: type, object: document["object"] ?? .null)
    }
}

extension KubeClient {
    /// Watches the collection at `path` from `resourceVersion` (nil: from now, with
    /// ADDED events for what exists), calling `onEvent` for each event as it arrives,
    /// in order, on the calling thread, until `onEvent` returns false, `cancellation`
    /// is signalled, or the server ends the stream after `timeout` (its
    /// `timeoutSeconds`). Bookmarks are asked for. A failure before the first event is
    /// retried like any GET; once events have been delivered it is thrown, and the
    /// caller watches again from the last resourceVersion it saw.
    @discardableResult
    public func watch(_ path: String, resourceVersion: String? = nil, labelSelector: String? = nil,
                      fieldSelector: String? = nil, timeout: Duration = .seconds(300),
                      cancellation: WatchCancellation = WatchCancellation(),
                      onEvent: (WatchEvent) -> Bool) throws(KubeAPIError) -> WatchEnd {
        let timeoutSeconds = max(1, timeout.milliseconds / 1000)
        var query = [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", String(timeoutSeconds))]
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        let limit = options.maximumResponseSize
        return try withRetries(.watch, path, idempotent: true) { token throws(KubeAPIError) in
            // The server closes at timeoutSeconds; silence well past that is a dead connection.
            let request = CurlRequest(method: "GET", url: try url(.watch, path, query),
                                      headers: headers(token: token, contentType: nil), body: nil,
                                      timeout: nil, idleLimit: .seconds(timeoutSeconds + 30))
            var decoder = WatchStreamDecoder(maximumLine: limit)
            var errorBody: [UInt8] = []
            var delivered = false
            var stoppedByCallback = false
            var decodeFailure: KubeAPIError.Failure?
            let outcome = pool.withHandle { handle in
                handle.perform(request, settings: settings, cancellation: cancellation) { status, piece in
                    guard (200..<300).contains(status) else {
                        errorBody.append(contentsOf: piece.prefix(max(0, 65536 - errorBody.count)))
                        return true
                    }
                    do throws(KubeAPIError.Failure) {
                        for event in try decoder.feed(piece) {
                            delivered = true
                            guard onEvent(event) else {
                                stoppedByCallback = true
                                return false
                            }
                        }
                        return true
                    } catch {
                        decodeFailure = error
                        return false
                    }
                }
            }
            switch outcome {
            case nil:
                return .failed(.request("curl could not create a handle"))
            case .response(let status, let retryAfter)?:
                guard (200..<300).contains(status) else { return .status(status, retryAfter: retryAfter, body: errorBody) }
                do throws(KubeAPIError.Failure) {
                    if let last = try decoder.finish(), !onEvent(last) { return .done(.stoppedByCallback) }
                } catch {
                    return .failed(error)
                }
                return .done(.closedByServer)
            case .stoppedByReceiver?:
                if let decodeFailure { return .failed(decodeFailure) }
                return .done(stoppedByCallback ? .stoppedByCallback : .closedByServer)
            case .cancelled?:
                return .done(.cancelled)
            case .failed(let code, let text)?:
                // Events already handed over would come again from a retry.
                return delivered ? .failed(.transport(curlCode: code, text: text)) : .transport(code: code, text: text)
            }
        }
    }
}
