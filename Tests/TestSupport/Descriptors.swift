#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Runs `body` with every file descriptor this process may open in use, so that each
/// open(2) in it fails with EMFILE. The soft limit is lowered first (a few dozen above
/// what is open) and restored after.
public func withDescriptorsExhausted<T>(_ body: () throws -> T) rethrows -> T {
    var saved = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &saved)
    var highest: Int32 = 0
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
        highest = max(highest, Int32(entry) ?? 0)
    }
    var lowered = saved
    lowered.rlim_cur = rlim_t(highest + 64)
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lowered)
    var opened: [Int32] = []
    while true {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { break }
        opened.append(fd)
    }
    defer {
        for fd in opened { close(fd) }
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &saved)
    }
    return try body()
}
