import Foundation
import Netlink
import NetnsTestSupport
import XCTest

final class NamespaceTests: XCTestCase {
    func testTemporaryNamespaceHoldsOnlyLoopbackAndIsNotOurs() throws {
        let temporary = try NetworkNamespace.createTemporary()
        let own = try NetworkNamespace.current()
        XCTAssertFalse(temporary.isSame(as: own))
        XCTAssertEqual(try RouteNetlink(in: temporary).links().map(\.name), ["lo"])
        // The calling thread never left its namespace.
        XCTAssertTrue(try NetworkNamespace.current().isSame(as: own))
    }

    func testRunExecutesInsideTheNamespace() throws {
        let scratch = try ScratchNamespace("run")
        defer { scratch.remove() }
        let namespace = try NetworkNamespace.open(path: scratch.path)
        let inside = try namespace.run { try NetworkNamespace.current() }
        XCTAssertTrue(inside.isSame(as: namespace))
        XCTAssertFalse(try NetworkNamespace.current().isSame(as: namespace))
    }

    /// The calling thread's own namespace needs no thread; a single-threaded process (the
    /// CNI) enters a foreign one on its own thread and is back in its own afterwards.
    func testRunStaysOnTheCallingThreadWhenItCan() throws {
        let own = try NetworkNamespace.current()
        let me = pthread_self()
        XCTAssertTrue(own.isCallingThreadsNamespace)
        XCTAssertEqual(try own.run { pthread_self() }, me)

        let scratch = try ScratchNamespace("runhere")
        defer { scratch.remove() }
        let namespace = try NetworkNamespace.open(path: scratch.path)
        XCTAssertFalse(namespace.isCallingThreadsNamespace)
        XCTAssertNotEqual(try namespace.run { pthread_self() }, me)
        NetworkNamespace.entersOnCallingThread.store(true, ordering: .relaxed)
        defer { NetworkNamespace.entersOnCallingThread.store(false, ordering: .relaxed) }
        let (thread, inside) = try namespace.run { (pthread_self(), try NetworkNamespace.current()) }
        XCTAssertEqual(thread, me)
        XCTAssertTrue(inside.isSame(as: namespace))
        XCTAssertTrue(try NetworkNamespace.current().isSame(as: own))
        // A failing body leaves the thread at home too.
        XCTAssertThrowsError(try namespace.run { throw NetlinkError(operation: "test", device: "x", errno: EIO) })
        XCTAssertTrue(try NetworkNamespace.current().isSame(as: own))
        XCTAssertEqual(try RouteNetlink(in: namespace).links().map(\.name), ["lo"])
        XCTAssertTrue(try NetworkNamespace.current().isSame(as: own))
    }

    func testOpenRejectsMissingPathsAndNonNamespaceFiles() {
        XCTAssertThrowsError(try NetworkNamespace.open(path: "/var/run/netns/no-such-netns-here")) { error in
            XCTAssertEqual((error as! NetlinkError).errno, ENOENT)
        }
        XCTAssertThrowsError(try NetworkNamespace.open(path: "/etc/hostname")) { error in
            let error = error as! NetlinkError
            XCTAssertEqual(error.errno, EINVAL)
            XCTAssertEqual(error.kernelMessage, "not a network namespace file")
        }
        // A namespace of another type is not a network namespace either.
        XCTAssertThrowsError(try NetworkNamespace.open(path: "/proc/self/ns/mnt")) { error in
            XCTAssertEqual((error as! NetlinkError).errno, EINVAL)
        }
    }

    /// A FIFO would block open(2) until a writer came; a device's open routine may act.
    /// Both are refused by type before they are opened.
    func testOpenRefusesAFIFOOrADeviceAtOnce() throws {
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("netns-fifo-\(UUID().uuidString.prefix(8))").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        defer { unlink(fifo) }
        for (path, what) in [(fifo, "a FIFO"), ("/dev/zero", "a character device")] {
            XCTAssertThrowsError(try NetworkNamespace.open(path: path)) { error in
                let error = error as! NetlinkError
                XCTAssertEqual(error.errno, EINVAL)
                XCTAssertEqual(error.kernelMessage, "is \(what), not a network namespace file")
            }
        }
    }

    func testRDMANetlinkIsRefusedWithoutTheRDMACore() throws {
        // This machine's kernel has no ib_core: NETLINK_RDMA does not exist. The lab
        // suite exercises the RDMA calls on a kernel that has it.
        guard !FileManager.default.fileExists(atPath: "/sys/class/infiniband") else {
            let netlink = try RDMANetlink()
            _ = try netlink.devices()
            _ = try netlink.netnsMode()
            return
        }
        XCTAssertThrowsError(try RDMANetlink()) { error in
            XCTAssertEqual((error as! NetlinkError).errno, EPROTONOSUPPORT)
        }
    }
}
