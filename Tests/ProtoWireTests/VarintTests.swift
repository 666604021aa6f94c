import ProtoWire
import XCTest
import TestSupport

/// Encoding spec, "Base 128 Varints", "Signed Integers", "Non-varint Numbers".
final class VarintTests: XCTestCase {
    private func varint(_ value: UInt64) -> [UInt8] {
        var writer = ProtoWriter()
        writer.writeVarint(value)
        return writer.bytes
    }

    private func readVarint(_ bytes: [UInt8]) throws -> UInt64 {
        var reader = ProtoReader(bytes)
        let value = try reader.readVarint()
        XCTAssertTrue(reader.isAtEnd)
        return value
    }

    func testVarintEdgeValues() throws {
        let cases: [(UInt64, String)] = [
            (0, "00"), (1, "01"), (127, "7f"), (128, "80 01"), (300, "ac 02"),
            (16383, "ff 7f"), (16384, "80 80 01"), (UInt64(UInt32.max), "ff ff ff ff 0f"),
            (UInt64.max, "ff ff ff ff ff ff ff ff ff 01"),
        ]
        for (value, bytes) in cases {
            XCTAssertEqual(varint(value), hex(bytes), "\(value)")
            XCTAssertEqual(try readVarint(hex(bytes)), value, "\(value)")
        }
    }

    func testNegativeInt32IsSignExtendedToTenBytes() throws {
        var writer = ProtoWriter()
        writer.write(field: 1, int32: -1)
        XCTAssertEqual(writer.bytes, hex("08 ff ff ff ff ff ff ff ff ff 01"))
        writer = ProtoWriter()
        writer.write(field: 1, int32: Int32.min)
        XCTAssertEqual(writer.bytes, hex("08 80 80 80 80 f8 ff ff ff ff 01"))
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("10 80 80 80 80 f8 ff ff ff ff 01")).int32, Int32.min)
    }

    func testInt32ReadKeepsTheLowThirtyTwoBits() throws {
        // 2^32 + 5, and a 5-byte varint whose low 32 bits are −1.
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("10 85 80 80 80 10")).int32, 5)
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("10 ff ff ff ff 0f")).int32, -1)
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("20 85 80 80 80 10")).uint32, 5)
    }

    func testAnyNonZeroVarintIsTrue() throws {
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("08 02")).bool, true)
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("08 80 80 80 80 80 80 80 80 80 01")).bool, true)
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("08 00")).bool, false)
    }

    func testZigZagMapsSmallMagnitudesToSmallValues() throws {
        let cases32: [(Int32, String)] = [
            (0, ""), (-1, "30 01"), (1, "30 02"), (-2, "30 03"), (2, "30 04"),
            (Int32.max, "30 fe ff ff ff 0f"), (Int32.min, "30 ff ff ff ff 0f"),
        ]
        for (value, bytes) in cases32 {
            var writer = ProtoWriter()
            writer.write(field: 6, sint32: value)
            XCTAssertEqual(writer.bytes, hex(bytes), "\(value)")
            XCTAssertEqual(try ScalarProbe(serializedBytes: hex(bytes)).sint32, value)
        }
        let cases64: [(Int64, String)] = [
            (-1, "38 01"), (1, "38 02"), (-64, "38 7f"), (64, "38 80 01"),
            (Int64.max, "38 fe ff ff ff ff ff ff ff ff 01"), (Int64.min, "38 ff ff ff ff ff ff ff ff ff 01"),
        ]
        for (value, bytes) in cases64 {
            var writer = ProtoWriter()
            writer.write(field: 7, sint64: value)
            XCTAssertEqual(writer.bytes, hex(bytes), "\(value)")
            XCTAssertEqual(try ScalarProbe(serializedBytes: hex(bytes)).sint64, value)
        }
    }

    func testFixedWidthValuesAreLittleEndian() throws {
        var writer = ProtoWriter()
        writer.write(field: 8, fixed32: 0x1234_5678)
        writer.write(field: 9, fixed64: 0x0102_0304_0506_0708)
        writer.write(field: 10, sfixed32: -2)
        writer.write(field: 11, sfixed64: -2)
        writer.write(field: 12, float: 1.0)
        writer.write(field: 13, double: -2.5)
        let expected = hex("""
            45 78 56 34 12
            49 08 07 06 05 04 03 02 01
            55 fe ff ff ff
            59 fe ff ff ff ff ff ff ff
            65 00 00 80 3f
            69 00 00 00 00 00 00 04 c0
            """)
        XCTAssertEqual(writer.bytes, expected)
        let probe = try ScalarProbe(serializedBytes: expected)
        XCTAssertEqual(probe.fixed32, 0x1234_5678)
        XCTAssertEqual(probe.fixed64, 0x0102_0304_0506_0708)
        XCTAssertEqual(probe.sfixed32, -2)
        XCTAssertEqual(probe.sfixed64, -2)
        XCTAssertEqual(probe.float, 1.0)
        XCTAssertEqual(probe.double, -2.5)
    }

    func testNegativeZeroFloatIsWrittenButPositiveZeroIsNot() {
        var writer = ProtoWriter()
        writer.write(field: 12, float: 0)
        writer.write(field: 13, double: 0)
        XCTAssertEqual(writer.bytes, [])
        writer.write(field: 13, double: -0.0)
        XCTAssertEqual(writer.bytes, hex("69 00 00 00 00 00 00 00 80"))
    }
}
