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

    /// For a call whose state directory is the default. A move that fails is error 11
    /// (try again later): a DEL must not go on without the record it needs.
    static func migrate(into stateDir: String, logger: CNILogger) throws(CNIError) {
        guard stateDir == SRIOVNetConf.defaultStateDir else { return }
        try move(from: SRIOVNetConf.legacyStateDir, to: stateDir, logger: logger)
    }

    static func move(from legacy: String, to stateDir: String, logger: CNILogger) throws(CNIError) {
        guard access(legacy, F_OK) == 0 else { return }
        let state = StateDirectory(path: stateDir)
        let lock = try state.lock("locks/legacy-state.lock", timeout: .seconds(10), purpose: "moving records from \(legacy)")
        defer { withExtendedLifetime(lock) {} }
        // Another call may have moved them while this one waited.
        guard access(legacy, F_OK) == 0 else { return }
        var moved = 0
        for subdirectory in subdirectories {
            let from = legacy + "/" + subdirectory
            // Temporaries of calls that have ended (a call killed between write and rename).
            _ = removeAbandonedTemporaryFiles(in: from)
            for name in (try? listDirectory(from)) ?? [] where name.hasSuffix(".json") {
                let source = from + "/" + name, target = stateDir + "/" + subdirectory + "/" + name
                // A record both places: the newer one (an older binary still running wrote the legacy one last).
                if modificationTime(target).map({ $0 >= modificationTime(source) ?? 0 }) != true {
                    let bytes: [UInt8]
                    do throws(FileOperationError) { bytes = try readFile(source) } catch {
                        if error.errno == .noSuchFile { continue }
                        throw CNIError(.tryAgainLater, "cannot move the state record \(source) to \(stateDir)", details: "\(error)")
                    }
                    try state.write(subdirectory + "/" + name, raw: bytes)
                }
                unlink(source)
                moved += 1
            }
            rmdir(from)
        }
        for name in (try? listDirectory(legacy + "/locks")) ?? [] { unlink(legacy + "/locks/" + name) }
        rmdir(legacy + "/locks")
        if rmdir(legacy) != 0 && errno != ENOENT {
            // Files of someone else's: set aside once, so that later calls do not look again.
            let aside = legacy + ".left-\(time(nil))"
            let where_ = rename(legacy, aside) == 0 ? "moved to \(aside)" : "left where it is"
            logger.warning("\(legacy) held more than state records after they were moved to \(stateDir); \(where_)")
        }
        if moved > 0 { logger.info("moved \(moved) state records from \(legacy) to \(stateDir)") }
    }

    private static func modificationTime(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
    }
}
