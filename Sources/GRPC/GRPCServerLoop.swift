#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import Synchronization
import SystemSupport

/// One thread, one epoll set: the listening socket, every accepted connection, and
/// an eventfd through which handler tasks post work. All connection state lives in
/// `GRPCServerState` and is touched on this thread only.
final class GRPCServerLoop: Sendable {
    private let epollFD: Int32
    private let wakeFD: Int32
    private let mailbox = Mutex<[@Sendable (GRPCServerState) -> Void]>([])
    private let stopped = Atomic<Bool>(false)
    // Set once before the thread starts, then only read on the loop thread.
    nonisolated(unsafe) private var state: GRPCServerState!

    init(listener: UnixSocket, router: GRPCRouter, configuration: GRPCServer.Configuration, gauges: ServerGauges, socketPath: String) throws(SocketError) {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard epollFD >= 0, wakeFD >= 0 else { throw SocketError(operation: "epoll_create1/eventfd", path: "", errno: errno) }
        let listener = GRPCListener(socket: listener, path: socketPath, backoff: configuration.acceptBackoff, log: configuration.log)
        state = GRPCServerState(loop: self, listener: listener, router: router, configuration: configuration, gauges: gauges)
        watch(listener.socket.fd, writable: false)
        watch(wakeFD, writable: false)
    }

    /// Runs `job` on the loop thread soon.
    func post(_ job: @escaping @Sendable (GRPCServerState) -> Void) {
        let first = mailbox.withLock { jobs in
            jobs.append(job)
            return jobs.count == 1
        }
        // The loop empties the mailbox after every wake-up, so a job that finds others
        // waiting rides on the wake-up the first of them sent.
        guard first else { return }
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    func requestStop() {
        stopped.store(true, ordering: .releasing)
        post { _ in }
    }

    // MARK: epoll registration (loop thread)

    func watch(_ fd: Int32, writable: Bool) {
        var event = epoll_event(events: EPOLLIN.rawValue | (writable ? EPOLLOUT.rawValue : 0), data: epoll_data_t(fd: fd))
        if epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) != 0 {
            epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
        }
    }

    func unwatch(_ fd: Int32) {
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    // MARK: The loop

    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while !stopped.load(ordering: .acquiring) {
            let timeout = state.pollTimeoutMilliseconds()
            let count = retryingOnInterrupt { epoll_wait(epollFD, &events, Int32(events.count), timeout) }
            if count < 0 { break }
            for index in 0..<max(0, Int(count)) {
                let fd = events[index].data.fd
                let flags = events[index].events
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeFD, &value, 8)
                } else if fd == state.listener.socket.fd {
                    state.acceptAll()
                } else {
                    state.handleIO(fd: fd, readable: flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0,
                                   writable: flags & EPOLLOUT.rawValue != 0)
                }
            }
            let jobs = mailbox.withLock { jobs -> [@Sendable (GRPCServerState) -> Void] in
                defer { jobs.removeAll() }
                return jobs
            }
            for job in jobs { job(state) }
            state.fireTimers()
            state.flushAll()
            state.enforceQueuedBytesLimit()
        }
        state.shutdown()
        close(epollFD)
        close(wakeFD)
    }
}
