#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// This process's pid, asked once (glibc no longer caches getpid(2)). A forked child
/// that writes files execs first (ChildProcess), so it never sees its parent's.
let processID = getpid()

/// The mkostemp(3) template of `writeFileAtomically`'s temporary for `path`:
/// `<path>.tmp<pid>.XXXXXX`.
func temporaryFileTemplate(for path: String, writer: pid_t) -> String {
    "\(path).tmp\(writer).XXXXXX"
}

/// The pid of the process that made the temporary file `name` (`<name>.tmp<pid>.XXXXXX`,
/// as `writeFileAtomically` names them), nil for any other name.
public func temporaryFileWriter(_ name: String) -> pid_t? {
    let parts = name.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count >= 3, parts[parts.count - 1].utf8.count == 6 else { return nil }
    let tag = parts[parts.count - 2]
    let digits = tag.dropFirst(3)
    guard tag.hasPrefix("tmp"), !digits.isEmpty, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }),
          let pid = pid_t(digits), pid > 0 else { return nil }
    return pid
}

/// Whether the process `pid` has ended: kill(pid, 0) fails with ESRCH. A process this
/// one may not signal (EPERM) is alive. Pids are those of this process's pid namespace.
public func processHasEnded(_ pid: pid_t) -> Bool {
    kill(pid, 0) == -1 && errno == ESRCH
}

/// Removes the temporary files in `directory` that `writeFileAtomically` left behind
/// in a process that has since ended (killed between creating its file and renaming
/// it). A live writer's file stays, whoever it is. Returns the names removed; a
/// directory that cannot be listed has none.
@discardableResult
public func removeAbandonedTemporaryFiles(in directory: String) -> [String] {
    guard let names = try? listDirectory(directory) else { return [] }
    var removed: [String] = []
    for name in names.sorted() {
        guard let writer = temporaryFileWriter(name), processHasEnded(writer) else { continue }
        if unlink(directory + "/" + name) == 0 { removed.append(name) }
    }
    return removed
}
