#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// A POSIX thread of our own. Blocking work (socket loops, inotify, netlink, a
/// namespace switch with setns(2)) runs on one, never on Swift concurrency's small
/// cooperative pool, which a blocked syscall would starve. The one place the project
/// calls pthread_create.
public final class OSThread: @unchecked Sendable {
    private let handle: pthread_t
    private let detached: Bool

    private init(handle: pthread_t, detached: Bool) {
        self.handle = handle
        self.detached = detached
    }

    private final class Start {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread named `name` (the kernel keeps 15 bytes of it, for
    /// `top -H` and /proc/<pid>/task/*/comm), with a stack of `stackSize` bytes (nil: the
    /// system's default). A thread that cannot be made is an error: the body has not
    /// run. A detached thread cannot be joined.
    public static func start(name: String, detached: Bool = false, stackSize: Int? = nil,
                             _ body: @escaping @Sendable () -> Void) throws(ThreadStartError) -> OSThread {
        try unsafeStart(name: name, detached: detached, stackSize: stackSize, body)
    }

    /// `body` on a new thread, the caller blocked until it ends: for work that must not
    /// run on the caller's thread (a namespace switch that must not outlive the work).
    /// Runs nothing and throws `ThreadStartError` if no thread can be made.
    public static func run<Result>(name: String, _ body: () throws -> Result) throws -> Result {
        try withoutActuallyEscaping(body) { escapable in
            var outcome: Swift.Result<Result, any Error>?
            // The caller waits in join until the thread is done with `outcome` and `body`.
            try withUnsafeMutablePointer(to: &outcome) { slot in
                let pointer = UncheckedSendable(slot)
                let thread = try unsafeStart(name: name, detached: false, stackSize: nil) {
                    pointer.value.pointee = Swift.Result { try escapable() }
                }
                thread.join()
            }
            return try outcome!.get()
        }
    }

    /// Waits for the thread to end.
    public func join() {
        precondition(!detached, "a detached thread cannot be joined")
        pthread_join(handle, nil)
    }

    private static func unsafeStart(name: String, detached: Bool, stackSize: Int?,
                                    _ body: @escaping () -> Void) throws(ThreadStartError) -> OSThread {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize {
            let result = pthread_attr_setstacksize(&attributes, stackSize)
            guard result == 0 else { throw ThreadStartError(name: name, errno: Errno(rawValue: result)) }
        }
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, &attributes, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            _ = pthread_setname_np(pthread_self(), String(decoding: start.name.utf8.prefix(15), as: UTF8.self))
            start.body()
            return nil
        }, start)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw ThreadStartError(name: name, errno: Errno(rawValue: result))
        }
        if detached { pthread_detach(handle) }
        return OSThread(handle: handle, detached: detached)
    }
}

/// No thread could be made (pthread_create's reason: EAGAIN when a limit or memory
/// ran out); the work it was for has not run.
public struct ThreadStartError: Error, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var errno: Errno
    public var description: String { "cannot start thread \(name): \(errno)" }
}

/// A value handed to another thread whose lifetime the caller guarantees by joining it.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
