#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open file descriptor. Every read and write retries EINTR through
/// `retryingOnInterrupt`; nothing else in the project loops on it.
public struct FileDescriptor: Hashable, Sendable {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)

    /// open(2) with O_CLOEXEC added.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) -> FileDescriptor {
        let fd = retryingOnInterrupt { Glibc.open(path, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw .current }
        return FileDescriptor(rawValue: fd)
    }

    /// One read(2): the count read, 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        let count = retryingOnInterrupt { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
        guard count >= 0 else { throw .current }
        return count
    }

    /// Everything up to the end of the file.
    public func readAll(chunkSize: Int = 4096) throws(Errno) -> [UInt8] {
        try readToEnd(limit: nil, initialCapacity: chunkSize)!
    }

    /// Everything up to the end of the file when that is at most `limit` bytes; nil when
    /// there is more. Reading stops at `limit` + 1 bytes, so an endless source (a
    /// pipe that is never closed on a writer that keeps writing, /dev/zero) costs
    /// `limit` bytes of memory and no more.
    public func readAll(limit: Int, chunkSize: Int = 4096) throws(Errno) -> [UInt8]? {
        try readToEnd(limit: limit, initialCapacity: chunkSize)
    }

    /// Reads into an uninitialized buffer that starts at `initialCapacity` and doubles
    /// when full: a small file (sysfs, a state record) costs one buffer of a page and
    /// no zeroing (a zeroed 64 KiB chunk per read was 16 page faults and a memset in
    /// every CNI call, issue #19).
    private func readToEnd(limit: Int?, initialCapacity: Int) throws(Errno) -> [UInt8]? {
        let ceiling = limit.map { $0 + 1 } ?? Int.max
        var capacity = max(1, min(initialCapacity, ceiling))
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
        defer { buffer.deallocate() }
        var count = 0
        while true {
            if count == capacity {
                if count >= ceiling { return nil }
                let larger = min(capacity * 2, ceiling)
                let grown = UnsafeMutableRawPointer.allocate(byteCount: larger, alignment: 1)
                grown.copyMemory(from: buffer, byteCount: count)
                buffer.deallocate()
                buffer = grown
                capacity = larger
            }
            let read = try read(into: UnsafeMutableRawBufferPointer(start: buffer + count, count: capacity - count))
            if read == 0 { return Array(UnsafeRawBufferPointer(start: buffer, count: count)) }
            count += read
        }
    }

    /// One write(2): the count written.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        let count = retryingOnInterrupt { Glibc.write(rawValue, bytes.baseAddress, bytes.count) }
        guard count >= 0 else { throw .current }
        return count
    }

    /// All of `bytes`, however many writes it takes.
    public func writeAll(_ bytes: some Collection<UInt8>) throws(Errno) {
        let array = Array(bytes)
        var written = 0
        while written < array.count {
            let count = try array.withUnsafeBytes { raw in
                Result { () throws(Errno) in try write(UnsafeRawBufferPointer(rebasing: raw[written...])) }
            }.get()
            // A regular file or pipe never takes 0 bytes of a non-empty write; stop rather than spin.
            guard count > 0 else { throw Errno(rawValue: EIO) }
            written += count
        }
    }

    /// close(2). Not retried on EINTR: Linux has released the descriptor either way.
    public func close() { _ = Glibc.close(rawValue) }

    /// Runs `body`, then closes the descriptor whatever happened.
    public func closeAfter<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        defer { close() }
        return try body()
    }
}
