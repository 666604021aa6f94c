import CNI
@testable import VFAttach
import XCTest

/// The pairing `Rollback.step` promises: the undo is registered before the change, so
/// a change that fails half-way is undone too, and the step's fault-injection point
/// comes after the change, also when the step had nothing to change.
final class RollbackStepTests: XCTestCase {
    struct Refused: Error {}

    final class Log {
        var entries: [String] = []
    }

    func testAChangeThatFailsIsUndoneAsWell() {
        let log = Log()
        var rollback = Rollback()
        XCTAssertThrowsError(try rollback.step(.linkUp, undo: .init("set net1 down") { log.entries.append("undo") }) {
            log.entries.append("change")
            throw Refused()
        })
        XCTAssertEqual(rollback.unwind(logger: CNILogger(level: .error)), [])
        XCTAssertEqual(log.entries, ["change", "undo"])
    }

    func testEveryStepPassesItsFaultInjectionPointAfterItsChanges() throws {
        let log = Log()
        var rollback = Rollback(faultInjection: { log.entries.append("after \($0.rawValue)") })
        try rollback.step(.linkDown, undo: nil) { log.entries.append("link down") }
        try rollback.step(.setMTU) { _ in }
        try rollback.step(.configureIP) { rollback in
            try rollback.change(undo: .init("remove 10.0.0.2/24") { log.entries.append("undo 10.0.0.2/24") }) {
                log.entries.append("add 10.0.0.2/24")
            }
            try rollback.change(undo: .init("remove 10.0.0.3/24") { log.entries.append("undo 10.0.0.3/24") }) {
                log.entries.append("add 10.0.0.3/24")
            }
        }
        XCTAssertEqual(log.entries, ["link down", "after linkDown", "after setMTU",
                                     "add 10.0.0.2/24", "add 10.0.0.3/24", "after configureIP"])
        XCTAssertEqual(rollback.unwind(logger: CNILogger(level: .error)), [])
        XCTAssertEqual(log.entries.suffix(2), ["undo 10.0.0.3/24", "undo 10.0.0.2/24"])
    }

    func testWhatCannotBeUndoneIsAddedToTheReportedError() throws {
        var rollback = Rollback()
        try rollback.change(undo: .init("set net1 down") { throw Refused() }) {}
        let leftovers = rollback.unwind(logger: CNILogger(level: .error))
        let reported = RollbackIncomplete(failure: CNIError(.ipamFailed, "host-local ADD: no addresses", details: "10.56.0.0/30"),
                                          leftovers: leftovers).cniError
        XCTAssertEqual(reported, CNIError(.ipamFailed, "host-local ADD: no addresses",
                                          details: "10.56.0.0/30; rollback incomplete: set net1 down: Refused()"))
    }
}
