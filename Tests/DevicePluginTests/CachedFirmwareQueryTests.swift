@testable import DevicePlugin
import HostDevices
import Logging
import Synchronization
import XCTest

/// The daemon's devlink reads: cached between rescans, the last good answer kept
/// when a dump fails, read again after a config reload.
final class CachedFirmwareQueryTests: XCTestCase {
    private struct DumpFailed: Error, CustomStringConvertible {
        var description: String { "read devlink device info failed: EBUSY" }
    }

    /// Answers from a script, counting the dumps.
    private final class ScriptedDevlink: FirmwareQuery {
        let answers: Mutex<[Result<[DeviceFirmware], DumpFailed>]>
        let dumps = Mutex(0)
        init(_ answers: [Result<[DeviceFirmware], DumpFailed>]) { self.answers = Mutex(answers) }
        func devices() throws -> [DeviceFirmware] {
            dumps.withLock { $0 += 1 }
            return try answers.withLock { $0.removeFirst() }.get()
        }
    }

    private let comms = [DeviceFirmware(bus: "pci", device: "0000:3b:00.0", driver: "ice",
                                        versions: [FirmwareVersion(kind: .running, name: "fw.app.name", value: "ICE COMMS Package")])]
    private let standard = [DeviceFirmware(bus: "pci", device: "0000:3b:00.0", driver: "ice",
                                           versions: [FirmwareVersion(kind: .running, name: "fw.app.name", value: "ICE OS Default Package")])]

    func testOneDumpServesRescansUntilItAges() throws {
        let devlink = ScriptedDevlink([.success(comms), .success(standard)])
        let cached = CachedFirmwareQuery(source: devlink, maxAge: .seconds(3600), logger: Logger(label: "test"))
        XCTAssertEqual(try cached.devices(), comms)
        XCTAssertEqual(try cached.devices(), comms)
        XCTAssertEqual(devlink.dumps.withLock { $0 }, 1)
        cached.refresh()
        XCTAssertEqual(try cached.devices(), standard, "a config reload reads devlink again")
        XCTAssertEqual(devlink.dumps.withLock { $0 }, 2)
        let uncached = CachedFirmwareQuery(source: ScriptedDevlink([.success(comms), .success(standard)]), maxAge: .zero,
                                           logger: Logger(label: "test"))
        XCTAssertEqual(try uncached.devices(), comms)
        XCTAssertEqual(try uncached.devices(), standard, "an aged answer is read again")
    }

    func testAFailedDumpKeepsTheLastGoodAnswer() throws {
        let devlink = ScriptedDevlink([.failure(DumpFailed()), .success(comms), .failure(DumpFailed()), .success(standard)])
        let cached = CachedFirmwareQuery(source: devlink, maxAge: .zero, logger: Logger(label: "test"))
        XCTAssertThrowsError(try cached.devices(), "nothing read yet: the failure is the scan's") { error in
            XCTAssertEqual("\(error)", "read devlink device info failed: EBUSY")
        }
        XCTAssertEqual(try cached.devices(), comms)
        XCTAssertEqual(try cached.devices(), comms, "EBUSY: the last reading stays")
        XCTAssertEqual(try cached.devices(), standard)
        XCTAssertEqual(devlink.dumps.withLock { $0 }, 4)
    }
}
