import CNI

/// The undo list of one ADD. Each change registers how to reverse itself before it
/// runs, so a failure at any point, the change's own included, can undo exactly what
/// was done, newest first.
struct Rollback {
    /// How to reverse one change. It looks before it changes, so it is harmless when
    /// the change never happened.
    struct Undo {
        var what: String
        var action: () throws -> Void

        init(_ what: String, _ action: @escaping () throws -> Void) {
            self.what = what
            self.action = action
        }
    }

    private var undos: [Undo] = []
    /// Tests: called after each step; throwing there simulates that step failing late.
    private let faultInjection: ((ADDStep) throws -> Void)?

    init(faultInjection: ((ADDStep) throws -> Void)? = nil) {
        self.faultInjection = faultInjection
    }

    /// A step that makes one change: `undo` (nil: nothing to put back) is registered,
    /// `change` runs, then the step's fault-injection point.
    mutating func step(_ step: ADDStep, undo: Undo?, _ change: () throws -> Void) throws {
        try self.change(undo: undo, change)
        try checkpoint(step)
    }

    /// A step whose changes depend on what ADD found: `body` makes none, one or several
    /// through `change(undo:_:)`; the step's fault-injection point follows in any case.
    mutating func step(_ step: ADDStep, _ body: (inout Rollback) throws -> Void) throws {
        try body(&self)
        try checkpoint(step)
    }

    /// One change with its undo, registered before the change runs.
    mutating func change(undo: Undo?, _ change: () throws -> Void) throws {
        if let undo { undos.append(undo) }
        try change()
    }

    /// The fault-injection point of a step that changes nothing itself.
    func checkpoint(_ step: ADDStep) throws {
        try faultInjection?(step)
    }

    /// Runs every undo, newest first, continuing past failures. Returns what could not
    /// be undone.
    func unwind(logger: CNILogger) -> [String] {
        var failures: [String] = []
        for undo in undos.reversed() {
            do {
                try undo.action()
                logger.debug("rolled back: \(undo.what)")
            } catch {
                logger.error("rollback could not \(undo.what): \(error)")
                failures.append("\(undo.what): \(error)")
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
    case vfGUID, rebind
    case moveRDMA
    case removeStaleAltNames, moveToPodNetns
    case setMTU, linkUp, ipam, configureIP, persistState
}
