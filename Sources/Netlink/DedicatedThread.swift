import SystemSupport

/// Runs `body` on a new POSIX thread and waits for it. A network namespace belongs
/// to a thread, not a process: code that enters one with setns(2) runs here, so
/// neither the caller's thread nor a thread of Swift's cooperative pool is ever left
/// in a foreign namespace. The thread ends with the body, taking its namespace along.
func onDedicatedThread<T>(_ body: () throws -> T) throws -> T {
    do {
        return try OSThread.run(name: "netns", body)
    } catch let error as ThreadStartError {
        throw NetlinkError(operation: "start a thread", device: "this process", errno: error.errno.rawValue)
    }
}
