import CLinux
import Synchronization
import SystemSupport
import XCTest

final class OSThreadTests: XCTestCase {
    func testStartedThreadRunsItsBodyUnderItsNameAndJoins() throws {
        let seen = Mutex<String?>(nil)
        let thread = try OSThread.start(name: "a-long-thread-name-cut") {
            var name = [CChar](repeating: 0, count: 32)
            pthread_getname_np(pthread_self(), &name, name.count)
            seen.withLock { $0 = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
        thread.join()
        // The kernel keeps 15 bytes of a thread's name.
        XCTAssertEqual(seen.withLock { $0 }, "a-long-thread-n")
    }

    func testThreadThatCannotBeMadeThrowsAndNeverRunsTheBody() {
        let ran = Atomic<Bool>(false)
        XCTAssertThrowsError(try OSThread.start(name: "huge", stackSize: 1 << 48) { ran.store(true, ordering: .relaxed) }) { error in
            XCTAssertEqual("\(error)", "cannot start thread huge: \(Errno(rawValue: EAGAIN))")
        }
        XCTAssertFalse(ran.load(ordering: .relaxed))
    }

    func testRunWaitsForTheResultAndPassesErrorsBack() throws {
        var local = 0
        let value = try OSThread.run(name: "run") { () -> Int in
            local += 1
            return 41 + local
        }
        XCTAssertEqual(value, 42)
        struct Expected: Error, Equatable {}
        XCTAssertThrowsError(try OSThread.run(name: "run") { throw Expected() }) { XCTAssertEqual($0 as? Expected, Expected()) }
    }
}
