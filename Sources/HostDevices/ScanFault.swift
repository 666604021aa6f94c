#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import SystemSupport

/// A scan that could not read what it needed for want of a resource (descriptors,
/// memory) or through an I/O error: what it saw is not the node, and a missing device
/// in it is no evidence that the device is gone.
public struct ScanFault: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first such error the scan met.
    public let errno: Errno
    /// How many reads failed that way.
    public let failures: Int

    public var description: String {
        "\(failures) sysfs read\(failures == 1 ? "" : "s") failed with \(errno) (errno \(errno.rawValue))"
    }
}

/// Counts reads that failed for a resource reason, process-wide: a scan compares the
/// count before and after itself. A missing attribute (ENOENT), a down link's `carrier`
/// (EINVAL) or a non-link (EINVAL from readlink) is the kernel's answer, not a fault.
enum ScanFaults {
    private static let count = Atomic<Int>(0)
    private static let firstErrno = Atomic<Int32>(0)

    static func isResourceError(_ code: Int32) -> Bool {
        code == EMFILE || code == ENFILE || code == ENOMEM || code == EAGAIN || code == EIO || code == ENOBUFS || code == EINTR
    }

    /// After a failed call: counts errno when it is a resource error.
    static func note(_ code: Int32 = errno) {
        guard isResourceError(code) else { return }
        _ = firstErrno.compareExchange(expected: 0, desired: code, ordering: .relaxed)
        count.add(1, ordering: .relaxed)
    }

    static var mark: Int { count.load(ordering: .relaxed) }

    /// The fault of a scan that started at `mark`, or nil when it read everything it tried.
    static func since(_ mark: Int) -> ScanFault? {
        let failures = count.load(ordering: .relaxed) - mark
        guard failures > 0 else { return nil }
        let code = firstErrno.exchange(0, ordering: .relaxed)
        return ScanFault(errno: Errno(rawValue: code == 0 ? EIO : code), failures: failures)
    }
}
