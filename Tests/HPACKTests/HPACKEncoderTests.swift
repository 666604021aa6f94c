import HPACK
import XCTest
import TestSupport

/// Encoder choices outside the RFC examples: size updates, indexing modes, sensitive fields.
final class HPACKEncoderTests: XCTestCase {
    func testLoweredPeerSettingEmitsSizeUpdateOnceAtNextBlockStart() {
        var encoder = HPACKEncoder(useHuffman: false)
        _ = encoder.encode(fields(["a": "b"]))
        encoder.setMaxTableSize(1024)
        // 1024 = 31 + 0x61 + (7 << 7); then the entry from the table.
        XCTAssertEqual(encoder.encode(fields(["a": "b"])), [0x3f, 0xe1, 0x07, 0xbe])
        XCTAssertEqual(encoder.encode(fields(["a": "b"])), [0xbe])
    }

    func testSizeUpdateToZeroEmptiesTableAndStopsIndexing() {
        var encoder = HPACKEncoder(useHuffman: false)
        _ = encoder.encode(fields(["a": "b"]))
        encoder.setMaxTableSize(0)
        // Update to 0, then "a: b" as a literal without indexing: it no longer fits.
        XCTAssertEqual(encoder.encode(fields(["a": "b"])), [0x20, 0x00, 0x01, 0x61, 0x01, 0x62])
        XCTAssertEqual(encoder.dynamicTableSize, 0)
    }

    func testLoweredThenRaisedSettingEmitsSmallestThenFinal() {
        var encoder = HPACKEncoder(useHuffman: false)
        _ = encoder.encode(fields(["a": "b"]))
        encoder.setMaxTableSize(0)
        encoder.setMaxTableSize(4096)
        // §4.2: 0 (evicting everything), then 4096 = 31 + 0x61 + (31 << 7).
        XCTAssertEqual(encoder.encode([]), [0x20, 0x3f, 0xe1, 0x1f])
        XCTAssertEqual(encoder.dynamicTableSize, 0)
    }

    func testRaisedSettingEmitsOnlyTheFinalSize() {
        var encoder = HPACKEncoder(maxTableSize: 4096)
        encoder.setMaxTableSize(256)
        _ = encoder.encode([])
        encoder.setMaxTableSize(1024)
        XCTAssertEqual(encoder.encode([]), [0x3f, 0xe1, 0x07])
    }

    func testPeerSettingAboveOwnLimitChangesNothing() {
        var encoder = HPACKEncoder(maxTableSize: 256)
        encoder.setMaxTableSize(65536)
        XCTAssertEqual(encoder.encode([]), [])
        encoder.setMaxTableSize(256)
        XCTAssertEqual(encoder.encode([]), [])
    }

    func testWithoutIndexingLiteralsStayOutOfTable() {
        var encoder = HPACKEncoder(useHuffman: false, indexing: false)
        let headers = fields([":method": "GET", "content-type": "application/grpc", "x": "y"])
        // Indexed, literal without indexing with name index 31 (15 + 16), new-name literal.
        let expected: [UInt8] = [0x82, 0x0f, 0x10, 0x10] + ascii("application/grpc") + [0x00, 0x01, 0x78, 0x01, 0x79]
        XCTAssertEqual(encoder.encode(headers), expected)
        XCTAssertEqual(encoder.encode(headers), expected)
        XCTAssertEqual(encoder.dynamicTableSize, 0)
    }

    func testNeverIndexedFieldIsLiteralEvenWhenTablesMatch() {
        var encoder = HPACKEncoder(useHuffman: false)
        let sensitive = HeaderField(name: ":method", value: "GET", neverIndexed: true)
        // Never indexed (0001), name index 2, raw value.
        XCTAssertEqual(encoder.encode([sensitive]), [0x12, 0x03] + ascii("GET"))
        XCTAssertEqual(encoder.encode([HeaderField(name: "x", value: "y", neverIndexed: true)]),
                       [0x10, 0x01, 0x78, 0x01, 0x79])
        XCTAssertEqual(encoder.dynamicTableSize, 0)
    }

    func testNameFoundOnlyInDynamicTableIsReferencedByIndex() {
        var encoder = HPACKEncoder(useHuffman: false)
        _ = encoder.encode(fields(["custom-key": "a"]))
        XCTAssertEqual(encoder.encode(fields(["custom-key": "b"])), [0x7e, 0x01, 0x62])
        XCTAssertEqual(encoder.dynamicTableEntries, fields(["custom-key": "b", "custom-key": "a"]))
    }

    func testFieldLargerThanTableIsNotIndexed() {
        var encoder = HPACKEncoder(maxTableSize: 64, useHuffman: false)
        _ = encoder.encode(fields(["a": "b"]))
        let big = String(repeating: "v", count: 40)  // 32 + 1 + 40 > 64
        XCTAssertEqual(encoder.encode(fields(["a": big])), [0x0f, 0x2f, 0x28] + ascii(big))
        XCTAssertEqual(encoder.dynamicTableEntries, fields(["a": "b"]))
    }

    func testHuffmanOnlyWhenStrictlyShorter() {
        var encoder = HPACKEncoder(indexing: false)
        // "0" codes to 5 bits: one octet either way, so raw.
        XCTAssertEqual(encoder.encode(fields(["grpc-status": "0"])).suffix(2), [0x01, 0x30])
        // "trailers" codes to 6 octets.
        XCTAssertEqual(encoder.encode(fields(["te": "trailers"])).suffix(7), hex("86 4d 83 35 05 b1 1f")[...])
        var raw = HPACKEncoder(useHuffman: false, indexing: false)
        XCTAssertEqual(raw.encode(fields(["te": "trailers"])).suffix(9), ([0x08] + ascii("trailers"))[...])
    }

    func testEncodeIntoAppendsToBuffer() {
        var encoder = HPACKEncoder()
        var buffer: [UInt8] = [0xaa]
        encoder.encode(fields([":method": "GET"]), into: &buffer)
        XCTAssertEqual(buffer, [0xaa, 0x82])
    }
}
