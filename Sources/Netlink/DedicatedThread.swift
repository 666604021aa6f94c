#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs `body` on a new POSIX thread and waits for it. A network namespace belongs
/// to a thread, not a process: code that enters one with setns(2) runs here, so
/// neither the caller's thread nor a thread of Swift's cooperative pool is ever left
/// in a foreign namespace. The thread ends with the body, taking its namespace along.
func onDedicatedThread<T>(_ body: () throws -> T) throws -> T {
    try withoutActuallyEscaping(body) { escapable in
        let job = ThreadJob(escapable)
        let unmanaged = Unmanaged.passRetained(job)
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let job = Unmanaged<AnyThreadJob>.fromOpaque(raw).takeRetainedValue()
            job.run()
            return nil
        }, unmanaged.toOpaque())
        guard created == 0 else {
            unmanaged.release()
            throw NetlinkError(operation: "start a thread", device: "this process", errno: created)
        }
        pthread_join(thread, nil)
        return try job.result!.get()
    }
}

/// The type-erased job a thread runs; the generic subclass keeps the result.
class AnyThreadJob: @unchecked Sendable {
    func run() {}
}

/// Safe to hand across threads because the caller blocks in pthread_join until the
/// thread has finished with it.
final class ThreadJob<T>: AnyThreadJob, @unchecked Sendable {
    let body: () throws -> T
    var result: Result<T, any Error>?

    init(_ body: @escaping () throws -> T) { self.body = body }

    override func run() { result = Result { try body() } }
}
