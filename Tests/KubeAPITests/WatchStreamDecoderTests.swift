import JSONValue
@testable import KubeAPI
import XCTest

/// The watch stream's newline-delimited framing, piece by piece as curl hands it over.
final class WatchStreamDecoderTests: XCTestCase {
    func testTheDecoderSplitsEventsAcrossPieces() throws {
        var decoder = WatchStreamDecoder(maximumLine: 1000)
        let stream = Array(#"{"type":"ADDED","object":{"a":1}}"# .utf8) + [0x0A] + Array(#"{"type":"DELETED","object":{}}"#.utf8) + [0x0A, 0x0A]
        var events: [WatchEvent] = []
        for piece in [stream[0..<5], stream[5..<40], stream[40...]] {
            events += try piece.withUnsafeBytes { try decoder.feed($0) }
        }
        XCTAssertEqual(events, [WatchEvent(type: .added, object: .object([("a", JSON(1))])), WatchEvent(type: .deleted, object: .object([]))])
        XCTAssertNil(try decoder.finish())
    }

    func testTheDecoderRefusesAnUnknownEventType() {
        var decoder = WatchStreamDecoder(maximumLine: 1000)
        let line = Array(#"{"type":"RENAMED","object":{}}"#.utf8) + [0x0A]
        XCTAssertThrowsError(try line.withUnsafeBytes { try decoder.feed($0) }) { error in
            XCTAssertEqual(error as? KubeAPIError.Failure, .malformedResponse(#"a watch event without a known type: {"type":"RENAMED","object":{}}"#))
        }
    }

    func testAnEventWithoutItsFinalNewlineIsDeliveredAtTheEnd() throws {
        var decoder = WatchStreamDecoder(maximumLine: 1000)
        let line = Array(#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}"#.utf8)
        XCTAssertEqual(try line.withUnsafeBytes { try decoder.feed($0) }, [])
        XCTAssertEqual(try decoder.finish()?.resourceVersion, "7")
    }

    func testALineLongerThanTheLimitIsRefused() {
        var decoder = WatchStreamDecoder(maximumLine: 10)
        XCTAssertThrowsError(try Array(repeating: UInt8(ascii: "x"), count: 11).withUnsafeBytes { try decoder.feed($0) }) { error in
            XCTAssertEqual(error as? KubeAPIError.Failure, .malformedResponse("a watch event longer than 10 bytes"))
        }
    }
}
