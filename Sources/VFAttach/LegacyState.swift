import CNI
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// Records written by a version that kept its state in `SRIOVNetConf.legacyStateDir`
/// (on disk) for pods that still run: the first call that uses the default state
/// directory moves them there, so DEL restores what that version attached. One
/// access(2) when there is nothing to move.
enum LegacyState {
    static let subdirectories = ["attachments", "allocations", "rdma"]

    /// For a call whose state directory is the default.
    static func migrate(into stateDir: String, logger: CNILogger) {
        guard stateDir == SRIOVNetConf.defaultStateDir else { return }
        move(from: SRIOVNetConf.legacyStateDir, to: stateDir, logger: logger)
    }

    static func move(from legacy: String, to stateDir: String, logger: CNILogger) {
        guard access(legacy, F_OK) == 0 else { return }
        let state = StateDirectory(path: stateDir)
        do {
            try state.prepare(["locks"] + subdirectories)
            let lock = try state.lock("locks/legacy-state.lock", timeout: .seconds(10), purpose: "moving records from \(legacy)")
            defer { withExtendedLifetime(lock) {} }
            var moved = 0
            for subdirectory in subdirectories {
                for name in (try? listDirectory(legacy + "/" + subdirectory)) ?? [] where name.hasSuffix(".json") {
                    let from = legacy + "/" + subdirectory + "/" + name, to = stateDir + "/" + subdirectory + "/" + name
                    // A record both places: the newer one (an older binary still running wrote the legacy one last).
                    if modificationTime(to).map({ $0 >= modificationTime(from) ?? 0 }) != true {
                        try writeFileAtomically(try readFile(from), to: to, mode: 0o600)
                    }
                    unlink(from)
                    moved += 1
                }
                rmdir(legacy + "/" + subdirectory)
            }
            for name in (try? listDirectory(legacy + "/locks")) ?? [] { unlink(legacy + "/locks/" + name) }
            rmdir(legacy + "/locks")
            if rmdir(legacy) != 0 {
                logger.warning("\(legacy) is not empty after moving its records to \(stateDir); it is left as it is")
            }
            if moved > 0 { logger.info("moved \(moved) state records from \(legacy) to \(stateDir)") }
        } catch {
            logger.warning("records in \(legacy) were not moved to \(stateDir): \(error)")
        }
    }

    private static func modificationTime(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
    }
}
