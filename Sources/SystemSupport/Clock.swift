#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Duration {
    /// The duration in seconds, as people read it in messages ("timed out after 0.2 s").
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// A point on the monotonic clock (CLOCK_MONOTONIC), for deadlines and stopwatches in
/// synchronous code that must not pull in the concurrency runtime: `ContinuousClock`
/// lives in _Concurrency, which with libdispatch adds about 0.6 MiB to the static CNI
/// plugin. The daemon, which runs that runtime anyway, keeps `ContinuousClock`.
public struct MonotonicInstant: Comparable, Hashable, Sendable {
    /// Since an arbitrary fixed point (the kernel's monotonic origin).
    public let sinceOrigin: Duration

    public init(sinceOrigin: Duration) { self.sinceOrigin = sinceOrigin }

    public static var now: MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)  // cannot fail for CLOCK_MONOTONIC with a valid pointer
        return MonotonicInstant(sinceOrigin: .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec))
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool { lhs.sinceOrigin < rhs.sinceOrigin }
    public static func + (lhs: MonotonicInstant, rhs: Duration) -> MonotonicInstant { MonotonicInstant(sinceOrigin: lhs.sinceOrigin + rhs) }
    public static func - (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Duration { lhs.sinceOrigin - rhs.sinceOrigin }
}

/// Blocks the calling thread for `duration` (nanosleep, resumed after a signal), for
/// synchronous code such as the CNI plugin that has no concurrency runtime to yield to.
public func sleepBlocking(for duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}
