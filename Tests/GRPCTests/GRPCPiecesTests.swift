@testable import GRPC
import XCTest

final class GRPCPiecesTests: XCTestCase {
    func testGrpcMessagePercentEncoding() {
        XCTAssertEqual(GRPCStatus.percentEncode("plain text"), "plain text")
        XCTAssertEqual(GRPCStatus.percentEncode("100% ü\n"), "100%25 %C3%BC%0A")
        XCTAssertEqual(GRPCStatus.percentDecode("100%25 %C3%BC%0A"), "100% ü\n")
        // Lenient: a broken escape stays as it is.
        XCTAssertEqual(GRPCStatus.percentDecode("50%zz%4"), "50%zz%4")
    }

    func testTimeoutParsing() {
        XCTAssertEqual(GRPCTimeout.parse("29999987u"), .microseconds(29_999_987))
        XCTAssertEqual(GRPCTimeout.parse("1H"), .seconds(3600))
        XCTAssertEqual(GRPCTimeout.parse("5M"), .seconds(300))
        XCTAssertEqual(GRPCTimeout.parse("10S"), .seconds(10))
        XCTAssertEqual(GRPCTimeout.parse("250m"), .milliseconds(250))
        XCTAssertEqual(GRPCTimeout.parse("7n"), .nanoseconds(7))
        for bad in ["", "S", "123456789S", "10s", "1.5S", "-1S", "10"] {
            XCTAssertNil(GRPCTimeout.parse(bad), bad)
        }
    }

    func testTimeoutEncodingPicksTheFinestUnitThatFits() {
        XCTAssertEqual(GRPCTimeout.encode(.seconds(30)), "30000000u")
        XCTAssertEqual(GRPCTimeout.encode(.milliseconds(1)), "1000000n")
        XCTAssertEqual(GRPCTimeout.encode(.seconds(3600)), "3600000m")
        XCTAssertEqual(GRPCTimeout.parse(GRPCTimeout.encode(.seconds(10))), .seconds(10))
    }

    func testPollTimeoutRoundsUpAndClamps() {
        XCTAssertEqual(Duration.milliseconds(-5).pollTimeoutMilliseconds, 0)
        XCTAssertEqual(Duration.zero.pollTimeoutMilliseconds, 0)
        XCTAssertEqual(Duration.microseconds(1).pollTimeoutMilliseconds, 1)
        XCTAssertEqual(Duration.milliseconds(10).pollTimeoutMilliseconds, 11)
        XCTAssertEqual(Duration.seconds(2).pollTimeoutMilliseconds, 2001)
        XCTAssertEqual(Duration.seconds(Int64.max).pollTimeoutMilliseconds, Int32.max)
    }

    func testDeframerReassemblesAcrossChunksAndSplitsBatches() throws {
        var deframer = GRPCMessageDeframer(maxMessageSize: 100)
        let one = GRPCMessageFraming.frame([1, 2, 3])
        let two = GRPCMessageFraming.frame([])
        let all = one + two
        XCTAssertEqual(try deframer.append(Array(all[0..<4])), [])
        XCTAssertEqual(try deframer.append(Array(all[4..<9])), [[1, 2, 3]])
        XCTAssertEqual(try deframer.append(Array(all[9..<11])), [])
        XCTAssertEqual(try deframer.append(Array(all[11...])), [[]])
        XCTAssertFalse(deframer.hasPartialMessage)
    }

    func testDeframerRejectsOversizeAndCompressedMessagesFromTheirPrefix() {
        var deframer = GRPCMessageDeframer(maxMessageSize: GRPCMessageFraming.defaultMaxMessageSize)
        XCTAssertThrowsError(try deframer.append([0, 0xff, 0xff, 0xff, 0xff])) { error in
            XCTAssertEqual(error as? GRPCStatus, GRPCStatus(.resourceExhausted, "grpc: received message larger than max (4294967295 vs. 4194304)"))
        }
        var other = GRPCMessageDeframer(maxMessageSize: 10)
        XCTAssertThrowsError(try other.append([1, 0, 0, 0, 1, 7])) { error in
            XCTAssertEqual((error as? GRPCStatus)?.code, .internalError)
        }
    }

    func testEmptyMessageFrameIsFiveZeroBytes() {
        XCTAssertEqual(GRPCMessageFraming.frame([]), [0, 0, 0, 0, 0])
        XCTAssertEqual(GRPCMessageFraming.frame([8, 1]), [0, 0, 0, 0, 2, 8, 1])
    }
}
