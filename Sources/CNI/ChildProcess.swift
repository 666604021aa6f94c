#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// A program run to completion with its stdin given and its stdout and stderr
/// collected (posix_spawn, pipes, poll). Used to call delegated plugins.
struct ChildProcess {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]

    struct LaunchError: Error {
        var errno: Int32
        var what: String
    }

    static func run(path: String, arguments: [String], environment: [String: String], stdin: [UInt8]) throws(LaunchError) -> ChildProcess {
        // A delegate that exits without reading stdin must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
        guard pipe(&input) == 0, pipe(&output) == 0, pipe(&errors) == 0 else {
            let code = errno
            for fd in input + output + errors where fd >= 0 { close(fd) }
            throw LaunchError(errno: code, what: "create pipes")
        }
        // Our ends stay out of the child and of any other program this process starts.
        for fd in [input[1], output[0], errors[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        for fd in [input[0], output[1], errors[1]] { posix_spawn_file_actions_addclose(&actions, fd) }

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        var spawned: Int32 = 0
        // "text file busy": the plugin binary is being replaced right now; the Go
        // library retries the same way (pkg/invoke/raw_exec.go).
        for attempt in 0..<5 {
            spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
            guard spawned == ETXTBSY else { break }
            var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000 * (attempt + 1))
            nanosleep(&pause, nil)
        }
        close(input[0])
        close(output[1])
        close(errors[1])
        guard spawned == 0 else {
            close(input[1]); close(output[0]); close(errors[0])
            throw LaunchError(errno: spawned, what: "start \(path)")
        }

        var out: [UInt8] = [], err: [UInt8] = []
        var written = 0
        var stdinFD = input[1]
        if stdin.isEmpty { close(stdinFD); stdinFD = -1 }
        var openReaders = 2
        var fds = [pollfd(fd: output[0], events: Int16(POLLIN), revents: 0),
                   pollfd(fd: errors[0], events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while openReaders > 0 || stdinFD >= 0 {
            fds[2].fd = stdinFD
            guard retryingOnInterrupt({ poll(&fds, nfds_t(fds.count), -1) }) >= 0 else { break }
            for slot in 0..<2 where fds[slot].fd >= 0 && fds[slot].revents != 0 {
                let fd = fds[slot].fd
                let count = buffer.withUnsafeMutableBytes { raw in retryingOnInterrupt { read(fd, raw.baseAddress, raw.count) } }
                if count > 0 {
                    if slot == 0 { out += buffer[0..<count] } else { err += buffer[0..<count] }
                } else if count == 0 || errno != EAGAIN {
                    close(fds[slot].fd)
                    fds[slot].fd = -1
                    openReaders -= 1
                }
            }
            if stdinFD >= 0, fds[2].revents != 0 {
                let fd = stdinFD
                let count = stdin[written...].withUnsafeBytes { raw in retryingOnInterrupt { write(fd, raw.baseAddress, min(raw.count, 65536)) } }
                if count > 0 { written += count }
                if count < 0 && errno != EAGAIN || written >= stdin.count {
                    close(stdinFD)
                    stdinFD = -1
                }
            }
        }
        var status: Int32 = 0
        _ = retryingOnInterrupt { waitpid(pid, &status, 0) }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift cannot import as macros.
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ChildProcess(status: exitCode, stdout: out, stderr: err)
    }
}
