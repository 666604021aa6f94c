#if canImport(Glibc)
import Glibc
#endif

/// The clock every sample is read from: CLOCK_MONOTONIC_RAW, which NTP does not
/// slew, read through the vDSO (clock_gettime(2)).
public enum MonotonicClock {
    public static let name = "CLOCK_MONOTONIC_RAW"

    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC_RAW, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// The clock's resolution (clock_getres), in nanoseconds.
    public static func resolution() -> UInt64 {
        var time = timespec()
        clock_getres(CLOCK_MONOTONIC_RAW, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

/// A point in CLOCK_MONOTONIC time by which a wait must end.
struct Deadline {
    let nanoseconds: UInt64
    let seconds: Double

    init(secondsFromNow seconds: Double) {
        self.seconds = seconds
        nanoseconds = MonotonicClock.nanoseconds() &+ UInt64(max(0, seconds) * 1e9)
    }

    static let never = Deadline(nanoseconds: .max, seconds: .infinity)

    private init(nanoseconds: UInt64, seconds: Double) {
        self.nanoseconds = nanoseconds
        self.seconds = seconds
    }

    var hasPassed: Bool { MonotonicClock.nanoseconds() >= nanoseconds }

    /// Milliseconds left for poll(2): -1 (wait forever) for `never`, at least 0.
    var pollTimeout: Int32 {
        if nanoseconds == .max { return -1 }
        let now = MonotonicClock.nanoseconds()
        guard nanoseconds > now else { return 0 }
        return Int32(clamping: (nanoseconds - now + 999_999) / 1_000_000)
    }
}
