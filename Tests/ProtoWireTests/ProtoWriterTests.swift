import ProtoWire
import XCTest
import TestSupport

final class ProtoWriterTests: XCTestCase {
    func testDefaultsAreOmitted() {
        XCTAssertEqual(ScalarProbe().serializedBytes(), [])
    }

    func testTagCombinesFieldNumberAndWireType() {
        var writer = ProtoWriter()
        writer.writeTag(field: 1, wireType: .lengthDelimited)
        writer.writeTag(field: 15, wireType: .varint)
        writer.writeTag(field: 16, wireType: .fixed32)
        writer.writeTag(field: maximumFieldNumber, wireType: .fixed64)
        XCTAssertEqual(writer.bytes, hex("0a 78 85 01 f9 ff ff ff 0f"))
    }

    func testStringsAndBytesAreLengthPrefixed() {
        var writer = ProtoWriter()
        writer.write(field: 14, string: "ß")
        writer.write(field: 15, bytes: [0, 0xFF])
        writer.write(field: 14, string: String(repeating: "a", count: 200))
        XCTAssertEqual(Array(writer.bytes.prefix(11)), hex("72 02 c3 9f 7a 02 00 ff 72 c8 01"))
        XCTAssertEqual(writer.bytes.count, 11 + 200)
    }

    func testSetEmptySubMessageIsTagAndZeroLength() {
        var writer = ProtoWriter()
        writer.write(field: 18, message: ScalarProbe())
        XCTAssertEqual(writer.bytes, hex("92 01 00"))
    }

    func testRepeatedStringsCarryOneTagEachIncludingEmptyOnes() {
        var writer = ProtoWriter()
        writer.write(field: 1, repeatedString: ["a", "", "bc"])
        XCTAssertEqual(writer.bytes, hex("0a 01 61 0a 00 0a 02 62 63"))
    }

    func testMapEntriesAreSortedByKeyBytesWithBothFieldsAlwaysWritten() {
        var writer = ProtoWriter()
        writer.write(field: 1, map: ["b": "2", "ab": "", "": "x", "a": "1"])
        XCTAssertEqual(writer.bytes, hex("""
            0a 05 0a 00 12 01 78
            0a 06 0a 01 61 12 01 31
            0a 06 0a 02 61 62 12 00
            0a 06 0a 01 62 12 01 32
            """))
    }

    func testMapKeysSortByUTF8BytesNotByUnicodeCollation() throws {
        // "Z" (5A) < "a" (61) < "é" (C3 A9) < "😀" (F0 …), whatever the locale.
        var writer = ProtoWriter()
        writer.write(field: 1, map: ["😀": "", "é": "", "a": "", "Z": ""])
        var reader = ProtoReader(writer.bytes)
        var keys: [String] = []
        while try reader.nextField() != nil {
            keys.append(try reader.readMapEntry().key)
        }
        XCTAssertEqual(keys, ["Z", "a", "é", "😀"])
    }

    func testEveryFieldRoundTrips() throws {
        var inner = ScalarProbe()
        inner.int32 = -7
        var probe = ScalarProbe()
        probe.bool = true
        probe.int32 = Int32.min
        probe.int64 = Int64.min
        probe.uint32 = UInt32.max
        probe.uint64 = UInt64.max
        probe.sint32 = -123_456
        probe.sint64 = Int64.max
        probe.fixed32 = 1
        probe.fixed64 = UInt64.max
        probe.sfixed32 = Int32.min
        probe.sfixed64 = -1
        probe.float = -1.5
        probe.double = .greatestFiniteMagnitude
        probe.string = "ünïcödé 日本"
        probe.bytes = [0, 1, 0xFF]
        probe.strings = ["", "x"]
        probe.map = ["k": "v", "": ""]
        probe.nested = [inner, ScalarProbe()]
        XCTAssertEqual(try ScalarProbe(serializedBytes: probe.serializedBytes()), probe)
    }
}
