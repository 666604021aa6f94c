@testable import HPACK
import XCTest
import TestSupport

/// RFC 7541 Appendix C.2 to C.6, decoded and encoded byte for byte. The examples use
/// incremental indexing throughout, as our encoder does with `indexing: true`.
final class RFCExampleTests: XCTestCase {
    /// One header block of a C.3 to C.6 sequence and the dynamic table after it, newest first.
    struct Step {
        var block: String
        var headers: [HeaderField]
        var table: [HeaderField]
        var tableSize: Int
    }

    private func assertDecodes(_ steps: [Step], maxTableSize: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        var decoder = HPACKDecoder(maxTableSize: maxTableSize)
        for (number, step) in steps.enumerated() {
            XCTAssertEqual(try decoder.decode(hex(step.block)), step.headers, "block \(number + 1)", file: file, line: line)
            XCTAssertEqual(decoder.dynamicTableEntries, step.table, "block \(number + 1)", file: file, line: line)
            XCTAssertEqual(decoder.dynamicTableSize, step.tableSize, "block \(number + 1)", file: file, line: line)
        }
    }

    private func assertEncodes(
        _ steps: [Step], maxTableSize: Int, useHuffman: Bool, huffmanWhenEqualLength: Bool = false,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var encoder = HPACKEncoder(maxTableSize: maxTableSize, useHuffman: useHuffman)
        encoder.huffmanWhenEqualLength = huffmanWhenEqualLength
        for (number, step) in steps.enumerated() {
            XCTAssertEqual(encoder.encode(step.headers), hex(step.block), "block \(number + 1)", file: file, line: line)
            XCTAssertEqual(encoder.dynamicTableEntries, step.table, "block \(number + 1)", file: file, line: line)
            XCTAssertEqual(encoder.dynamicTableSize, step.tableSize, "block \(number + 1)", file: file, line: line)
        }
    }

    // MARK: C.2 Header Field Representation Examples

    func testC2_1LiteralWithIndexingAddsToTable() throws {
        let block = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")
        let expected = fields(["custom-key": "custom-header"])
        var decoder = HPACKDecoder()
        XCTAssertEqual(try decoder.decode(block), expected)
        XCTAssertEqual(decoder.dynamicTableEntries, expected)
        XCTAssertEqual(decoder.dynamicTableSize, 55)

        var encoder = HPACKEncoder(useHuffman: false)
        XCTAssertEqual(encoder.encode(expected), block)
        XCTAssertEqual(encoder.dynamicTableSize, 55)
    }

    func testC2_2LiteralWithoutIndexingLeavesTableEmpty() throws {
        let block = hex("040c 2f73 616d 706c 652f 7061 7468")
        let expected = fields([":path": "/sample/path"])
        var decoder = HPACKDecoder()
        XCTAssertEqual(try decoder.decode(block), expected)
        XCTAssertEqual(decoder.dynamicTableSize, 0)

        var encoder = HPACKEncoder(useHuffman: false, indexing: false)
        XCTAssertEqual(encoder.encode(expected), block)
        XCTAssertEqual(encoder.dynamicTableSize, 0)
    }

    func testC2_3LiteralNeverIndexedDecodesAsNeverIndexed() throws {
        let block = hex("1008 7061 7373 776f 7264 0673 6563 7265 74")
        let expected = [HeaderField(name: "password", value: "secret", neverIndexed: true)]
        var decoder = HPACKDecoder()
        XCTAssertEqual(try decoder.decode(block), expected)
        XCTAssertEqual(decoder.dynamicTableSize, 0)

        var encoder = HPACKEncoder(useHuffman: false)
        XCTAssertEqual(encoder.encode(expected), block)
        XCTAssertEqual(encoder.dynamicTableSize, 0)
    }

    func testC2_4IndexedFieldFromStaticTable() throws {
        let expected = fields([":method": "GET"])
        var decoder = HPACKDecoder()
        XCTAssertEqual(try decoder.decode([0x82]), expected)
        XCTAssertEqual(decoder.dynamicTableSize, 0)

        var encoder = HPACKEncoder()
        XCTAssertEqual(encoder.encode(expected), [0x82])
    }

    // MARK: C.3 and C.4 Requests

    private static let request1 = fields([":method": "GET", ":scheme": "http", ":path": "/", ":authority": "www.example.com"])
    private static let request2 = request1 + fields(["cache-control": "no-cache"])
    private static let request3 = fields([
        ":method": "GET", ":scheme": "https", ":path": "/index.html", ":authority": "www.example.com",
        "custom-key": "custom-value",
    ])
    private static let requestTables = [
        fields([":authority": "www.example.com"]),
        fields(["cache-control": "no-cache", ":authority": "www.example.com"]),
        fields(["custom-key": "custom-value", "cache-control": "no-cache", ":authority": "www.example.com"]),
    ]

    private static let requestsWithoutHuffman = [
        Step(block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
             headers: request1, table: requestTables[0], tableSize: 57),
        Step(block: "8286 84be 5808 6e6f 2d63 6163 6865",
             headers: request2, table: requestTables[1], tableSize: 110),
        Step(block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
             headers: request3, table: requestTables[2], tableSize: 164),
    ]

    private static let requestsWithHuffman = [
        Step(block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
             headers: request1, table: requestTables[0], tableSize: 57),
        Step(block: "8286 84be 5886 a8eb 1064 9cbf",
             headers: request2, table: requestTables[1], tableSize: 110),
        Step(block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
             headers: request3, table: requestTables[2], tableSize: 164),
    ]

    func testC3DecodesRequestsWithoutHuffman() throws {
        try assertDecodes(Self.requestsWithoutHuffman, maxTableSize: 4096)
    }

    func testC3EncodesRequestsWithoutHuffman() {
        assertEncodes(Self.requestsWithoutHuffman, maxTableSize: 4096, useHuffman: false)
    }

    func testC4DecodesRequestsWithHuffman() throws {
        try assertDecodes(Self.requestsWithHuffman, maxTableSize: 4096)
    }

    func testC4EncodesRequestsWithHuffman() {
        assertEncodes(Self.requestsWithHuffman, maxTableSize: 4096, useHuffman: true)
    }

    // MARK: C.5 and C.6 Responses, 256-octet table with eviction

    private static let date1 = "Mon, 21 Oct 2013 20:13:21 GMT"
    private static let date2 = "Mon, 21 Oct 2013 20:13:22 GMT"
    private static let cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
    private static let response1 = fields([
        ":status": "302", "cache-control": "private", "date": date1, "location": "https://www.example.com",
    ])
    private static let response2 = fields([
        ":status": "307", "cache-control": "private", "date": date1, "location": "https://www.example.com",
    ])
    private static let response3 = fields([
        ":status": "200", "cache-control": "private", "date": date2, "location": "https://www.example.com",
        "content-encoding": "gzip", "set-cookie": cookie,
    ])
    private static let responseTables = [
        fields(["location": "https://www.example.com", "date": date1, "cache-control": "private", ":status": "302"]),
        fields([":status": "307", "location": "https://www.example.com", "date": date1, "cache-control": "private"]),
        fields(["set-cookie": cookie, "content-encoding": "gzip", "date": date2]),
    ]

    private static let responsesWithoutHuffman = [
        Step(block: """
            4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
            2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
            6c65 2e63 6f6d
            """, headers: response1, table: responseTables[0], tableSize: 222),
        Step(block: "4803 3330 37c1 c0bf", headers: response2, table: responseTables[1], tableSize: 222),
        Step(block: """
            88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
            54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
            5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
            3d31
            """, headers: response3, table: responseTables[2], tableSize: 215),
    ]

    private static let responsesWithHuffman = [
        Step(block: """
            4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
            2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3
            """, headers: response1, table: responseTables[0], tableSize: 222),
        Step(block: "4883 640e ffc1 c0bf", headers: response2, table: responseTables[1], tableSize: 222),
        Step(block: """
            88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
            77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
            9587 3160 65c0 03ed 4ee5 b106 3d50 07
            """, headers: response3, table: responseTables[2], tableSize: 215),
    ]

    func testC5DecodesResponsesWithoutHuffmanEvictingFromA256OctetTable() throws {
        try assertDecodes(Self.responsesWithoutHuffman, maxTableSize: 256)
    }

    func testC5EncodesResponsesWithoutHuffmanEvictingFromA256OctetTable() {
        assertEncodes(Self.responsesWithoutHuffman, maxTableSize: 256, useHuffman: false)
    }

    func testC6DecodesResponsesWithHuffmanEvictingFromA256OctetTable() throws {
        try assertDecodes(Self.responsesWithHuffman, maxTableSize: 256)
    }

    func testC6EncodesResponsesWithHuffmanEvictingFromA256OctetTable() {
        // The RFC Huffman-codes "307" although its code is no shorter (3 octets either way).
        assertEncodes(Self.responsesWithHuffman, maxTableSize: 256, useHuffman: true, huffmanWhenEqualLength: true)
    }

    func testC6EncodesEqualLengthStringsRawByDefaultLikeGrpcGo() {
        var steps = Self.responsesWithHuffman
        steps[1].block = "4803 3330 37c1 c0bf"  // "307" raw; everything else as C.6
        assertEncodes(steps, maxTableSize: 256, useHuffman: true)
    }
}
