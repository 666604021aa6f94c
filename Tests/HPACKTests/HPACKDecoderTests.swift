import HPACK
import XCTest
import TestSupport

/// Decoder behaviour outside the RFC examples: errors, size updates, limits.
final class HPACKDecoderTests: XCTestCase {
    private func assertThrows(
        _ expected: HPACKError, decoding block: [UInt8], with decoder: inout HPACKDecoder,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try decoder.decode(block), file: file, line: line) {
            XCTAssertEqual($0 as? HPACKError, expected, file: file, line: line)
        }
    }

    private func assertThrows(_ expected: HPACKError, decoding block: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        var decoder = HPACKDecoder()
        assertThrows(expected, decoding: block, with: &decoder, file: file, line: line)
    }

    // MARK: Index errors (§2.3.3, §6.1)

    func testIndexZeroIsInvalid() {
        assertThrows(.invalidIndex(index: 0, available: 61), decoding: [0x80])
    }

    func testIndexPastEmptyDynamicTableIsInvalid() {
        assertThrows(.invalidIndex(index: 62, available: 61), decoding: [0xbe])
    }

    func testIndexPastDynamicTableEndIsInvalid() throws {
        var decoder = HPACKDecoder()
        _ = try decoder.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))
        assertThrows(.invalidIndex(index: 63, available: 62), decoding: [0xbf], with: &decoder)
    }

    func testIndexedNamePastTableEndIsInvalid() {
        // Literal with incremental indexing, name index 62, value "a".
        assertThrows(.invalidIndex(index: 62, available: 61), decoding: [0x7e, 0x01, 0x61])
        // Never indexed, name index 62 via continuation (15 + 47).
        assertThrows(.invalidIndex(index: 62, available: 61), decoding: [0x1f, 0x2f, 0x01, 0x61])
    }

    // MARK: Integer and string errors (§5)

    func testIntegerOverflowInIndexIsRejected() {
        assertThrows(.integerOverflow, decoding: [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
    }

    func testIntegerOverflowInStringLengthIsRejected() {
        assertThrows(.integerOverflow, decoding: [0x40, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x0f])
    }

    func testTruncatedStringLengthIsTruncatedBlock() {
        // Name length 127 + continuation, but the block ends.
        assertThrows(.truncatedBlock, decoding: [0x40, 0x7f])
        assertThrows(.truncatedBlock, decoding: [0x40, 0x7f, 0x80])
        // Literal with indexed name and no value at all.
        assertThrows(.truncatedBlock, decoding: [0x41])
    }

    func testStringLongerThanBlockIsTruncatedBlock() {
        assertThrows(.truncatedBlock, decoding: [0x40, 0x05, 0x61, 0x62])
        // Huffman-coded value of 12 octets with 3 present.
        assertThrows(.truncatedBlock, decoding: hex("41 8c f1 e3 c2"))
    }

    func testTruncatedHuffmanStringIsInvalidHuffmanCode() {
        // "www.example.com" whose last code octet is missing, with a length that agrees.
        assertThrows(.invalidHuffmanCode, decoding: hex("41 8b f1e3 c2e5 f23a 6ba0 ab90 f4"))
    }

    func testEndOfStringSymbolInHuffmanValueIsInvalid() {
        assertThrows(.invalidHuffmanCode, decoding: hex("41 84 ff ff ff ff"))
    }

    func testHuffmanPaddingLongerThanSevenBitsIsInvalid() {
        assertThrows(.invalidHuffmanCode, decoding: hex("41 82 07 ff"))
        assertThrows(.invalidHuffmanCode, decoding: hex("41 81 ff"))
    }

    func testHuffmanPaddingNotAllOnesIsInvalid() {
        assertThrows(.invalidHuffmanCode, decoding: hex("41 81 06"))
    }

    // MARK: Dynamic table size updates (§4.2, §6.3)

    func testSizeUpdateAboveAdvertisedMaximumIsRejected() {
        // 31 + 0x62 + (31 << 7) = 4097.
        assertThrows(.tableSizeUpdateTooLarge(requested: 4097, allowed: 4096), decoding: [0x3f, 0xe2, 0x1f])
        var small = HPACKDecoder(maxTableSize: 100)
        assertThrows(.tableSizeUpdateTooLarge(requested: 101, allowed: 100), decoding: [0x3f, 0x46], with: &small)
    }

    func testSizeUpdateAfterHeaderFieldIsRejected() {
        assertThrows(.tableSizeUpdateNotAtBlockStart, decoding: [0x82, 0x20])
    }

    func testSeveralSizeUpdatesAtBlockStartAreAllowed() throws {
        var decoder = HPACKDecoder()
        _ = try decoder.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))
        // 0 (empties the table), then 4096 = 31 + 0x61 + (31 << 7), then an indexed field.
        XCTAssertEqual(try decoder.decode([0x20, 0x3f, 0xe1, 0x1f, 0x82]), fields([":method": "GET"]))
        XCTAssertEqual(decoder.dynamicTableSize, 0)
        XCTAssertEqual(decoder.dynamicTableCapacity, 4096)
    }

    func testSizeUpdateEvictsOldestEntriesToFit() throws {
        var decoder = HPACKDecoder()
        _ = try decoder.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))  // 55 octets
        _ = try decoder.decode(hex("4001 6101 62"))  // a: b, 34 octets
        XCTAssertEqual(decoder.dynamicTableSize, 89)
        XCTAssertEqual(try decoder.decode([0x3f, 0x1f]), [])  // size 62
        XCTAssertEqual(decoder.dynamicTableEntries, fields(["a": "b"]))
        XCTAssertEqual(decoder.dynamicTableSize, 34)
    }

    func testLoweredSettingRequiresSizeUpdateAtNextBlockStart() throws {
        var decoder = HPACKDecoder()
        decoder.maxTableSize = 1024
        assertThrows(.missingTableSizeUpdate(allowed: 1024), decoding: [0x82], with: &decoder)

        var updated = HPACKDecoder()
        updated.maxTableSize = 1024
        // 1024 = 31 + 0x61 + (7 << 7)
        XCTAssertEqual(try updated.decode([0x3f, 0xe1, 0x07, 0x82]), fields([":method": "GET"]))
        XCTAssertEqual(updated.dynamicTableCapacity, 1024)
        // Only the first block after the change needs it.
        XCTAssertEqual(try updated.decode([0x82]), fields([":method": "GET"]))
    }

    func testRaisedSettingNeedsNoSizeUpdateButAllowsOne() throws {
        var decoder = HPACKDecoder(maxTableSize: 256)
        decoder.maxTableSize = 4096
        XCTAssertEqual(try decoder.decode([0x82]), fields([":method": "GET"]))
        XCTAssertEqual(try decoder.decode([0x3f, 0xe1, 0x1f]), [])
        XCTAssertEqual(decoder.dynamicTableCapacity, 4096)
    }

    // MARK: Header list size (RFC 9113 §6.5.2)

    func testHeaderListAboveLimitThrowsButKeepsTableInStep() throws {
        var decoder = HPACKDecoder(maxHeaderListSize: 100)
        // C.3.1: 42 + 43 + 38 + 57 = 180 octets.
        let first = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")
        assertThrows(.headerListTooLarge(size: 180, limit: 100), decoding: first, with: &decoder)
        XCTAssertEqual(decoder.dynamicTableEntries, fields([":authority": "www.example.com"]))

        decoder.maxHeaderListSize = 65536
        XCTAssertEqual(try decoder.decode(hex("8286 84be 5808 6e6f 2d63 6163 6865")), fields([
            ":method": "GET", ":scheme": "http", ":path": "/", ":authority": "www.example.com",
            "cache-control": "no-cache",
        ]))
    }

    func testHeaderListExactlyAtLimitIsAccepted() throws {
        var decoder = HPACKDecoder(maxHeaderListSize: 180)
        XCTAssertEqual(try decoder.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")).count, 4)
    }

    // MARK: Strings

    func testEmptyBlockDecodesToNoFields() throws {
        var decoder = HPACKDecoder()
        XCTAssertEqual(try decoder.decode([UInt8]()), [])
    }

    func testAcceptsAnyCollectionOfOctets() throws {
        var decoder = HPACKDecoder()
        let framePayload: ArraySlice<UInt8> = [0x00, 0x00, 0x82, 0x86][2...]
        XCTAssertEqual(try decoder.decode(framePayload), fields([":method": "GET", ":scheme": "http"]))
    }

    func testInvalidUTF8IsReplacedButTableSizeCountsWireOctets() throws {
        var decoder = HPACKDecoder()
        // Literal with incremental indexing: name "a", value the lone octet 0xff.
        XCTAssertEqual(try decoder.decode([0x40, 0x01, 0x61, 0x01, 0xff]), fields(["a": "\u{FFFD}"]))
        XCTAssertEqual(decoder.dynamicTableSize, 32 + 1 + 1)
    }

    func testNeverIndexedWithIndexedNameIsMarkedAndNotAdded() throws {
        var decoder = HPACKDecoder()
        // Never indexed, name index 23 (authorization) = 15 + 8, value "x".
        XCTAssertEqual(try decoder.decode([0x1f, 0x08, 0x01, 0x78]),
                       [HeaderField(name: "authorization", value: "x", neverIndexed: true)])
        XCTAssertEqual(decoder.dynamicTableSize, 0)
    }
}
