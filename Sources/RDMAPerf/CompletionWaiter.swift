#if canImport(Glibc)
import Glibc
#endif
import SystemSupport
import CIBVerbs

/// How a side learns that a work request finished.
public enum CompletionPolling: Sendable, CustomStringConvertible {
    /// Spin on ibv_poll_cq (perftest's default).
    case busy
    /// Arm the CQ and sleep on its completion channel (perftest's `-e`).
    case events

    public var description: String {
        switch self {
        case .busy: "busy polling"
        case .events: "completion events"
        }
    }
}

/// Waits for completions on one of the run's CQs, spinning or through the
/// channel, giving up when nothing arrives for `timeoutSeconds`.
struct CompletionWaiter {
    let completion: UnsafeMutablePointer<ibv_wc>
    let channel: UnsafeMutablePointer<ibv_comp_channel>?
    let timeoutSeconds: Double

    /// The next completion of `cq`, spinning.
    @inline(__always)
    func busyWait(_ cq: UnsafeMutablePointer<ibv_cq>, waitingFor what: @autoclosure () -> String) throws -> ibv_wc {
        var budget = SpinBudget(timeoutSeconds: timeoutSeconds)
        while true {
            let count = ibv_poll_cq(cq, 1, completion)
            if count > 0 { return completion.pointee }
            if count < 0 { throw RDMAPerfError.CallFailed("ibv_poll_cq", errorNumber: -count) }
            if budget.emptyPollTimedOut() { throw RDMAPerfError.PeerTimeout(waitingFor: what(), seconds: timeoutSeconds) }
        }
    }

    /// One completion of `cq` if there is one now.
    @inline(__always)
    func poll(_ cq: UnsafeMutablePointer<ibv_cq>) throws -> ibv_wc? {
        let count = ibv_poll_cq(cq, 1, completion)
        if count > 0 { return completion.pointee }
        if count < 0 { throw RDMAPerfError.CallFailed("ibv_poll_cq", errorNumber: -count) }
        return nil
    }

    /// The next completion of `cq`, sleeping on the completion channel: poll,
    /// arm, poll again (a completion may land between the first poll and the
    /// arming), then block until the channel reports an event.
    func eventWait(_ cq: UnsafeMutablePointer<ibv_cq>, waitingFor what: @autoclosure () -> String) throws -> ibv_wc {
        guard let channel else { return try busyWait(cq, waitingFor: what()) }
        let deadline = Deadline(secondsFromNow: timeoutSeconds)
        while true {
            if let completion = try poll(cq) { return completion }
            let armed = ibv_req_notify_cq(cq, 0)
            guard armed == 0 else { throw RDMAPerfError.CallFailed("ibv_req_notify_cq", errorNumber: armed) }
            if let completion = try poll(cq) { return completion }
            var descriptor = pollfd(fd: channel.pointee.fd, events: Int16(POLLIN), revents: 0)
            let ready = retryingOnInterrupt { Glibc.poll(&descriptor, 1, deadline.pollTimeout) }
            if ready < 0 { throw RDMAPerfError.CallFailed("poll(completion channel)") }
            if ready == 0 { throw RDMAPerfError.PeerTimeout(waitingFor: what(), seconds: timeoutSeconds) }
            var eventCQ: UnsafeMutablePointer<ibv_cq>?
            var context: UnsafeMutableRawPointer?
            guard ibv_get_cq_event(channel, &eventCQ, &context) == 0 else {
                throw RDMAPerfError.CallFailed("ibv_get_cq_event")
            }
            // The channel serves both CQs; an event for the other one is
            // acknowledged and its CQ re-armed by whoever waits on it next.
            if let eventCQ { ibv_ack_cq_events(eventCQ, 1) }
        }
    }

    func wait(_ cq: UnsafeMutablePointer<ibv_cq>, polling: CompletionPolling,
              waitingFor what: @autoclosure () -> String) throws -> ibv_wc {
        switch polling {
        case .busy: try busyWait(cq, waitingFor: what())
        case .events: try eventWait(cq, waitingFor: what())
        }
    }
}

func completionStatusName(_ status: ibv_wc_status) -> String {
    String(cString: ibv_wc_status_str(status)) + " (\(status.rawValue))"
}
