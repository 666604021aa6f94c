/// Where a connection is in its life (RFC 9113 §3.4, §6.8). One value rather than
/// independent flags, so that combinations such as "closed but awaiting SETTINGS"
/// cannot be represented.
enum HTTP2ConnectionState: Equatable, Sendable {
    /// Server: the client's 24-octet preface has not all arrived (§3.4).
    case awaitingPreface
    /// The peer's first frame, which must be SETTINGS (§3.4), has not arrived. A
    /// client may already open streams here.
    case awaitingSettings
    /// The peer's SETTINGS arrived: streams open and close freely.
    case open
    /// A GOAWAY went one way or both (§6.8). Streams at or below the last-stream ID
    /// we sent run to completion and new ones above it are ignored; once the peer's
    /// GOAWAY arrived we open no new streams.
    case closing(goAwaySent: UInt32?, goAwayReceived: UInt32?)
    /// A connection error was raised, or a GOAWAY with an error code sent: what is
    /// queued is written out, then the owner closes. Nothing more is read or sent.
    case closed

    /// The last-stream ID of the GOAWAY we sent, while closing.
    var goAwaySent: UInt32? {
        if case .closing(let sent, _) = self { sent } else { nil }
    }
}
