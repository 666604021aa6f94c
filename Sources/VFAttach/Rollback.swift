import CNI

/// The undo list of one ADD. Each step registers how to reverse itself before it
/// runs, so a failure at any point can undo exactly what was done, newest first.
/// Undo actions tolerate a step that never ran (they look before they change).
struct Rollback {
    private var undos: [(what: String, action: () throws -> Void)] = []

    mutating func register(_ what: String, _ action: @escaping () throws -> Void) {
        undos.append((what, action))
    }

    var isEmpty: Bool { undos.isEmpty }

    /// Runs every undo, newest first, continuing past failures. Returns what could not
    /// be undone.
    func unwind(logger: CNILogger) -> [String] {
        var failures: [String] = []
        for (what, action) in undos.reversed() {
            do {
                try action()
                logger.debug("rolled back: \(what)")
            } catch {
                logger.error("rollback could not \(what): \(error)")
                failures.append("\(what): \(error)")
            }
        }
        return failures
    }
}

/// ADD failed and some of its changes could not be undone: reported as the failure
/// itself, with what is left behind added to its details.
struct RollbackIncomplete: Error, CNIErrorConvertible {
    var failure: any Error
    var leftovers: [String]

    var cniError: CNIError {
        var reported = CNIError(reporting: failure)
        reported.details += (reported.details.isEmpty ? "" : "; ") + "rollback incomplete: " + leftovers.joined(separator: "; ")
        return reported
    }
}

/// The steps of ADD, in order. Tests inject a failure after each to prove the host
/// ends up exactly as it was.
enum ADDStep: String, CaseIterable, Sendable {
    case lock, allocate, recordState
    case linkDown, netdevMAC
    case vfVLAN, vfMAC, vfRate, vfSpoofCheck, vfTrust, vfLinkState
    case moveRDMA
    case removeStaleAltNames, moveToPodNetns
    case setMTU, linkUp, ipam, configureIP, persistState
}
