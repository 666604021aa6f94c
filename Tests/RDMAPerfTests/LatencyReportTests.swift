import Foundation
import XCTest
@testable import RDMAPerf

final class LatencyReportTests: XCTestCase {
    static let summary = LatencySummary(bytes: 2, iterations: 1000, minimum: 420.99, maximum: 8021.734, typical: 1058.935,
                                        average: 1551.2249, standardDeviation: 992.29, exactStandardDeviation: 992.5,
                                        percentile99: 4632.01, percentile999: 8021.73)

    static let run = RunDescription(
        test: .send, isServer: false, device: "rxe0", port: 1, gidIndex: 1,
        gid: GID(sysfsText: "0000:0000:0000:0000:0000:ffff:0a38:0001"), gidType: "RoCE v2", pathMTU: 1024, inlineSize: 236,
        outstandingReads: 16, polling: .busy, exchange: .tcpSideChannel, peer: "10.56.0.2:18515", clock: "CLOCK_MONOTONIC_RAW",
        clockResolutionNanoseconds: 1, iterations: 1000, warmupIterations: 16, localQueuePairNumber: 0x11,
        local: nil, remote: nil, remoteQueuePairNumber: 0x12)

    func testFixedPointMatchesPrintf() {
        XCTAssertEqual(LatencyReport.fixed(1058.935), "1058.94")
        XCTAssertEqual(LatencyReport.fixed(0.004), "0.00")
        XCTAssertEqual(LatencyReport.fixed(0.005), "0.01")
        XCTAssertEqual(LatencyReport.fixed(7.0), "7.00")
        XCTAssertEqual(LatencyReport.fixed(12.3456, decimals: 3), "12.346")
        XCTAssertEqual(LatencyReport.fixed(-1.5), "-1.50")
        XCTAssertEqual(LatencyReport.fixed(3, decimals: 0), "3")
        XCTAssertEqual(LatencyReport.fixed(.nan), "nan")
    }

    func testRowHasPerftestsNineColumns() {
        let columns = LatencyReport.row(Self.summary).split(separator: " ")
        XCTAssertEqual(columns, ["2", "1000", "420.99", "8021.73", "1058.94", "1551.22", "992.29", "4632.01", "8021.73"])
        XCTAssertTrue(LatencyReport.columnHeader.contains("t_typical[usec]"))
        XCTAssertTrue(LatencyReport.columnHeader.contains("99.9% percentile[usec]"))
    }

    func testHeaderStatesTheClockAndWhatATimeMeans() {
        let header = LatencyReport.header(Self.run)
        XCTAssertTrue(header.contains("Send Latency Test"))
        XCTAssertTrue(header.contains("Clock           : CLOCK_MONOTONIC_RAW (resolution 1 ns)"), header)
        XCTAssertTrue(header.contains("half the round trip"), header)
        XCTAssertTrue(header.contains("GID index       : 1 (0000:0000:0000:0000:0000:ffff:0a38:0001, RoCE v2)"), header)
    }

    func testJSONParsesWithTheRunAndOneObjectPerSize() throws {
        var second = Self.summary
        second.bytes = 4
        let text = LatencyReport.json(Self.run, results: [Self.summary, second])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(object["test"] as? String, "send")
        XCTAssertEqual(object["clock"] as? String, "CLOCK_MONOTONIC_RAW")
        XCTAssertEqual(object["gid_index"] as? Int, 1)
        XCTAssertEqual(object["exchange"] as? String, "tcp")
        XCTAssertEqual(object["latency"] as? String, "half round trip")
        let results = try XCTUnwrap(object["results"] as? [[String: Any]])
        XCTAssertEqual(results.map { $0["bytes"] as? Int }, [2, 4])
        XCTAssertEqual(results[0]["t_typical"] as? Double, 1058.935)
        XCTAssertEqual(results[0]["p99_9"] as? Double, 8021.73)
        XCTAssertEqual(results[0]["t_stdev_exact"] as? Double, 992.5)
    }

    func testJSONEscapesStringsAndWritesNullForUnknowns() throws {
        var run = Self.run
        run.device = "odd\"name\\\n"
        run.gidIndex = nil
        run.gid = nil
        let text = LatencyReport.json(run, results: [])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(object["device"] as? String, "odd\"name\\\n")
        XCTAssertTrue(object["gid_index"] is NSNull)
        XCTAssertEqual((object["results"] as? [Any])?.count, 0)
    }
}
