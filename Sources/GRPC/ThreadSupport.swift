#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Blocking socket work runs on threads of its own, never on Swift concurrency's
/// small cooperative pool, which a blocked syscall would starve.
final class OSThread: @unchecked Sendable {
    private var handle = pthread_t()
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    init(name _: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box)
        if result != 0 {
            // No thread: run inline rather than lose the work.
            Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
            return
        }
    }

    func join() { pthread_join(handle, nil) }
}

/// Runs blocking work on a thread of its own and resumes the caller with its result.
func runBlocking<T: Sendable>(name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = OSThread(name: name) {
            continuation.resume(with: Result { try work() })
        }
        _ = thread
    }
}
