#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error number a system call returned, with the C library's text for it.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno, as a failed call left it.
    public static var current: Errno { Errno(rawValue: errno) }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let noSuchFile = Errno(rawValue: ENOENT)

    public var description: String { String(cString: strerror(rawValue)) }
}

/// Calls `call` until it returns something other than -1 with EINTR: the one place
/// an interrupted system call is retried. The result is the call's; on -1, errno is
/// the call's reason.
@inline(__always)
public func retryingOnInterrupt<Result: BinaryInteger>(_ call: () -> Result) -> Result {
    while true {
        let result = call()
        if result != -1 || errno != EINTR { return result }
    }
}

/// `call` retried on EINTR; its non-negative result, or the errno it failed with.
@inline(__always)
public func valueOrErrno<Result: BinaryInteger>(_ call: () -> Result) -> Swift.Result<Result, Errno> {
    let result = retryingOnInterrupt(call)
    return result == -1 ? .failure(.current) : .success(result)
}
