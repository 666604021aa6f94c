@testable import HPACK
import XCTest

/// RFC 7541 §5.1 and Appendix C.1.
final class IntegerCodingTests: XCTestCase {
    private func encoded(_ value: Int, prefixBits: Int, flags: UInt8 = 0) -> [UInt8] {
        var buffer: [UInt8] = []
        IntegerCoding.encode(value, prefixBits: prefixBits, flags: flags, into: &buffer)
        return buffer
    }

    private func decoded(_ bytes: [UInt8], prefixBits: Int) throws -> Int {
        var reader = ByteReader(bytes)
        let value = try IntegerCoding.decode(prefixBits: prefixBits, from: &reader)
        XCTAssertTrue(reader.isAtEnd, "integer left \(reader.remaining) octets unread")
        return value
    }

    func testC1_1EncodesTenWithFiveBitPrefix() throws {
        XCTAssertEqual(encoded(10, prefixBits: 5), [0x0a])
        XCTAssertEqual(try decoded([0x0a], prefixBits: 5), 10)
    }

    func testC1_2Encodes1337WithFiveBitPrefix() throws {
        XCTAssertEqual(encoded(1337, prefixBits: 5), [0x1f, 0x9a, 0x0a])
        XCTAssertEqual(try decoded([0x1f, 0x9a, 0x0a], prefixBits: 5), 1337)
    }

    func testC1_3Encodes42AtOctetBoundary() throws {
        XCTAssertEqual(encoded(42, prefixBits: 8), [0x2a])
        XCTAssertEqual(try decoded([0x2a], prefixBits: 8), 42)
    }

    func testFlagsFillTheBitsAboveThePrefixAndDecodingIgnoresThem() throws {
        XCTAssertEqual(encoded(10, prefixBits: 5, flags: 0b1110_0000), [0xea])
        XCTAssertEqual(try decoded([0xea], prefixBits: 5), 10)
    }

    func testValueEqualToFullPrefixNeedsAZeroContinuationOctet() throws {
        XCTAssertEqual(encoded(31, prefixBits: 5), [0x1f, 0x00])
        XCTAssertEqual(try decoded([0x1f, 0x00], prefixBits: 5), 31)
        XCTAssertEqual(encoded(127, prefixBits: 7), [0x7f, 0x00])
    }

    func testLargestAcceptedValueRoundTrips() throws {
        let largest = IntegerCoding.maximumDecodedValue
        for prefixBits in 1...8 {
            XCTAssertEqual(try decoded(encoded(largest, prefixBits: prefixBits), prefixBits: prefixBits), largest)
        }
    }

    func testValueAboveThirtyOneBitsIsIntegerOverflow() {
        let tooLarge = encoded(IntegerCoding.maximumDecodedValue + 1, prefixBits: 7)
        XCTAssertThrowsError(try decoded(tooLarge, prefixBits: 7)) {
            XCTAssertEqual($0 as? HPACKError, .integerOverflow)
        }
    }

    func testSixContinuationOctetsAreIntegerOverflowEvenForSmallValues() {
        // 127 + 1, padded with redundant 0x80 octets: §7.4 lets a decoder refuse these.
        let padded: [UInt8] = [0x7f, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00]
        XCTAssertThrowsError(try decoded(padded, prefixBits: 7)) {
            XCTAssertEqual($0 as? HPACKError, .integerOverflow)
        }
    }

    func testEndlessContinuationIsIntegerOverflow() {
        let endless = [UInt8](repeating: 0xff, count: 64)
        XCTAssertThrowsError(try decoded(endless, prefixBits: 4)) {
            XCTAssertEqual($0 as? HPACKError, .integerOverflow)
        }
    }

    func testContinuationCutShortIsTruncatedBlock() {
        XCTAssertThrowsError(try decoded([0x1f, 0x9a], prefixBits: 5)) {
            XCTAssertEqual($0 as? HPACKError, .truncatedBlock)
        }
        XCTAssertThrowsError(try decoded([], prefixBits: 5)) {
            XCTAssertEqual($0 as? HPACKError, .truncatedBlock)
        }
    }
}
