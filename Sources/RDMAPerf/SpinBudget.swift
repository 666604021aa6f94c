/// The bookkeeping of one busy wait: spin, and give up once nothing has arrived
/// for the timeout. The clock is read every 2^14 empty polls only, so a wait
/// whose completion is already there costs no clock read at all.
struct SpinBudget {
    static let pollsPerCheck: UInt = 1 << 14

    private let timeoutNanoseconds: UInt64
    private var spins: UInt = 0
    private var start: UInt64 = 0

    init(timeoutSeconds: Double) {
        timeoutNanoseconds = UInt64(timeoutSeconds * 1e9)
    }

    /// After an empty poll: `true` once the timeout has passed.
    @inline(__always)
    mutating func emptyPollTimedOut() -> Bool {
        spins &+= 1
        guard spins & (Self.pollsPerCheck - 1) == 0 else { return false }
        let now = MonotonicClock.nanoseconds()
        if start == 0 {
            start = now
            return false
        }
        return now &- start > timeoutNanoseconds
    }
}
