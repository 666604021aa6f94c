#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// The listening socket, and what accepting needs when descriptors run out. Under
/// EMFILE or ENFILE a pending connection stays in the backlog and keeps the socket
/// readable, so a loop that only retried would spin. Instead, as mature servers
/// do, a spare descriptor (/dev/null) held from the start is closed, the pending
/// connections are accepted and closed at once (their clients see EOF rather than
/// a hang), the spare is reopened, and the listener is left unwatched for
/// `backoff`. Loop thread only.
final class GRPCListener {
    let socket: UnixSocket
    let path: String
    private let backoff: Duration
    private var spare: FileDescriptor?
    /// While set, the loop does not watch the listener; it resumes at this instant.
    private(set) var pausedUntil: ContinuousClock.Instant?
    /// Set when accepting failed for want of resources, until an accept succeeds:
    /// one log line per episode, not per attempt.
    private var shortage: Errno?
    private let log: @Sendable (String) -> Void

    /// What one `accept` gave.
    enum Outcome {
        case connection(UnixSocket)
        /// No connection is waiting.
        case drained
        /// Accepting failed for want of resources: stop watching until `pausedUntil`.
        case paused
    }

    init(socket: UnixSocket, path: String, backoff: Duration, log: @escaping @Sendable (String) -> Void) {
        self.socket = socket
        self.path = path
        self.backoff = backoff
        self.log = log
        spare = Self.openSpare()
    }

    private static func openSpare() -> FileDescriptor? {
        try? FileDescriptor.open("/dev/null", O_RDONLY)
    }

    func accept() -> Outcome {
        var result = Result { () throws(Errno) in try socket.accept() }
        // The client gave up before we accepted: go on with the next.
        while case .failure(let error) = result, error.rawValue == ECONNABORTED || error.rawValue == EPROTO {
            result = Result { () throws(Errno) in try socket.accept() }
        }
        do throws(Errno) {
            guard let connection = try result.get() else { return .drained }
            if let shortage {
                log("accepting connections on \(path) again after \(shortage)")
                self.shortage = nil
            }
            return .connection(connection)
        } catch {
            // ENOBUFS, ENOMEM: memory is short; waiting is all there is to do.
            if error.rawValue == EMFILE || error.rawValue == ENFILE { shedPending() }
            if shortage == nil {
                log("accepting connections on \(path) failed: \(error) (errno \(error.rawValue)); "
                    + "closing new connections at once and retrying every \(Int(backoff / .milliseconds(1))) ms")
                shortage = error
            }
            pausedUntil = .now + backoff
            return .paused
        }
    }

    /// Uses the spare descriptor to accept and close what is pending, so that
    /// clients are told at once and the backlog does not keep the socket readable.
    private func shedPending() {
        guard let held = spare else {
            spare = Self.openSpare()
            return
        }
        held.close()
        spare = nil
        // Each accepted connection takes the slot the spare left and gives it back.
        for _ in 0..<1024 {
            guard case .some(.some(let pending)) = try? socket.accept() else { break }
            pending.closeSocket()
        }
        spare = Self.openSpare()
    }

    /// Called when the pause is over: the loop watches the listener again.
    func resume() {
        pausedUntil = nil
    }

    func close() {
        socket.closeSocket()
        spare?.close()
        spare = nil
    }
}
