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

/// Blocks the calling thread for `duration` (nanosleep, resumed after a signal), for
/// synchronous code such as the CNI plugin that has no concurrency runtime to yield to.
public func sleepBlocking(for duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}
