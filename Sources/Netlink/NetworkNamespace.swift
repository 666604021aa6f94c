internal import CNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import SystemSupport

/// A network namespace held open by a file descriptor: a CNI_NETNS path, the calling
/// thread's own namespace, or a temporary one this process created. The namespace
/// stays alive at least as long as this object.
public final class NetworkNamespace: @unchecked Sendable, CustomStringConvertible {
    public let descriptor: Int32
    /// The path it was opened from, or what it is ("temporary netns"), for messages.
    public let name: String

    /// The nsfs inode (device, inode number), read once: a descriptor names one
    /// namespace for its whole life.
    let identity: [UInt64]?

    init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
        var info = stat()
        identity = fstat(descriptor, &info) == 0 ? [UInt64(info.st_dev), UInt64(info.st_ino)] : nil
    }

    deinit { close(descriptor) }

    public var description: String { name }

    /// Opens a namespace file. Fails with ENOENT when the path is gone and with EINVAL
    /// when the file is not a network namespace (a plain file, a mount namespace, a
    /// FIFO or a device). Never waits: a FIFO is refused before it is opened.
    public static func open(path: String) throws -> NetworkNamespace {
        try open(path: path, name: path)
    }

    static func open(path: String, name: String) throws -> NetworkNamespace {
        // nsfs inodes are regular files (fs/nsfs.c: S_IFREG | S_IRUGO).
        let file: FileDescriptor
        do {
            file = try FileDescriptor.openChecked(path, O_RDONLY, expecting: .regular).descriptor
        } catch {
            let message: String
            switch error.problem {
            case .failed(_, let errno):
                throw NetlinkError(operation: "open network namespace", device: path, errno: errno.rawValue)
            case .wrongType(let found, _): message = "is a \(found), not a network namespace file"
            default: message = "\(error.problem)"
            }
            throw NetlinkError(operation: "open network namespace", device: path, errno: EINVAL, kernelMessage: message)
        }
        // include/uapi/linux/nsfs.h NS_GET_NSTYPE: only nsfs files answer it.
        let type = cnl_ns_get_nstype(file.rawValue)
        guard type == CLONE_NEWNET else {
            file.close()
            throw NetlinkError(operation: "open network namespace", device: path, errno: EINVAL,
                               kernelMessage: "not a network namespace file")
        }
        return NetworkNamespace(descriptor: file.rawValue, name: name)
    }

    /// The namespace the calling thread is in. The kernel's own path: opened as it is,
    /// without the checks a path from the runtime gets.
    public static func current() throws -> NetworkNamespace {
        let descriptor = openFile("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw NetlinkError(operation: "open network namespace", device: "this process's netns", errno: errno)
        }
        return NetworkNamespace(descriptor: descriptor, name: "this process's netns")
    }

    /// A new, empty namespace (only `lo`, down), alive while the returned object is.
    public static func createTemporary() throws -> NetworkNamespace {
        try onDedicatedThread {
            guard unshare(CLONE_NEWNET) == 0 else {
                throw NetlinkError(operation: "create a network namespace", device: "temporary netns", errno: errno)
            }
            return try open(path: "/proc/thread-self/ns/net", name: "temporary netns")
        }
    }

    /// Runs `body` on a thread of its own that has entered this namespace, so sockets
    /// it opens and /proc/sys/net files it writes belong to this namespace. When the
    /// calling thread is in this namespace already, `body` runs on it: entering the
    /// namespace it is in would change nothing, and a thread costs a CNI call more than
    /// all of its own work on this side (issue #19). `body` must not change the
    /// thread's namespace itself.
    public func run<T>(_ body: () throws -> T) throws -> T {
        if isCallingThreadsNamespace { return try body() }
        if Self.entersOnCallingThread.load(ordering: .relaxed) { return try runOnCallingThread(body) }
        return try onDedicatedThread {
            guard setns(descriptor, CLONE_NEWNET) == 0 else {
                throw NetlinkError(operation: "enter network namespace", device: name, errno: errno)
            }
            return try body()
        }
    }

    /// Set by a single-threaded process (the CNI plugin) before it opens a namespace:
    /// `run` then enters the namespace on the calling thread and returns to the
    /// thread's own before it returns, instead of starting a thread (a clone, a stack
    /// and its teardown were a tenth of a CNI call's CPU, issue #19). Never in the
    /// daemon: another thread must not see this one in a foreign namespace.
    public static let entersOnCallingThread = Atomic<Bool>(false)

    private func runOnCallingThread<T>(_ body: () throws -> T) throws -> T {
        let home = openFile("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else {
            throw NetlinkError(operation: "open network namespace", device: "this thread's netns", errno: errno)
        }
        defer { close(home) }
        guard setns(descriptor, CLONE_NEWNET) == 0 else {
            throw NetlinkError(operation: "enter network namespace", device: name, errno: errno)
        }
        defer {
            // Going on in the pod's namespace would act on the wrong interfaces; setns to
            // a namespace held open, with the privilege just used, does not fail.
            if setns(home, CLONE_NEWNET) != 0 { fatalError("cannot return from network namespace \(name): errno \(errno)") }
        }
        return try body()
    }

    /// The calling thread is in this namespace.
    public var isCallingThreadsNamespace: Bool {
        var info = stat()
        guard let mine = identity, stat("/proc/thread-self/ns/net", &info) == 0 else { return false }
        return mine == [UInt64(info.st_dev), UInt64(info.st_ino)]
    }

    /// Two descriptors name the same namespace when their nsfs inodes match.
    public func isSame(as other: NetworkNamespace) -> Bool {
        guard let mine = identity, let theirs = other.identity else { return false }
        return mine == theirs
    }

}

/// open(2), which `NetworkNamespace.open` hides inside the type.
private func openFile(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }
