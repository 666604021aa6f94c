import HPACK

/// One open stream (RFC 9113 §5.1). Idle and closed streams have no state object:
/// idle is "above the highest ID seen", closed is "at or below it and absent".
struct HTTP2StreamState {
    var localClosed = false
    var remoteClosed = false
    /// What we may still send before the peer returns credit (§6.9); may go negative
    /// when the peer lowers SETTINGS_INITIAL_WINDOW_SIZE (§6.9.2).
    var sendWindow: Int
    /// What the peer may still send us.
    var receiveWindow: Int
    /// Bytes received since we last returned credit for this stream.
    var receiveUnacknowledged = 0
    /// Outbound items waiting for flow-control credit, in order.
    var pending: [PendingItem] = []
    var pendingDataBytes = 0
    /// Whether the first pending item is data of which some frames are written:
    /// it has to be finished before anything may replace what follows it.
    var headPartlyWritten = false
    /// Whether a header block was delivered (so resets are reported to the owner).
    var announced = false
    /// `content-length` of the request, checked against the DATA received (§8.1.1).
    var expectedContentLength: Int?
    var receivedDataBytes = 0

    enum PendingItem {
        case data([UInt8], endStream: Bool)
        case headers([HeaderField], endStream: Bool)
    }

    init(sendWindow: Int, receiveWindow: Int) {
        self.sendWindow = sendWindow
        self.receiveWindow = receiveWindow
    }

    var isFinished: Bool { localClosed && remoteClosed }
}
