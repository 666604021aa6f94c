import ProtoWire
import XCTest
import TestSupport

final class ProtoReaderTests: XCTestCase {
    private func decodeError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> ProtoWireError? {
        do {
            _ = try ScalarProbe(serializedBytes: bytes)
            XCTFail("decoded without error", file: file, line: line)
            return nil
        } catch let error as ProtoWireError {
            return error
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    // MARK: Unknown fields

    func testUnknownFieldsOfEveryNonGroupWireTypeAreSkipped() throws {
        let bytes = hex("""
            a8 06 96 01
            72 02 68 69
            b1 06 01 02 03 04 05 06 07 08
            ba 06 03 61 62 63
            bd 06 01 02 03 04
            08 01
            f8 ff ff ff 0f 80 80 80 80 80 80 80 80 80 01
            """)
        var expected = ScalarProbe()
        expected.string = "hi"
        expected.bool = true
        XCTAssertEqual(try ScalarProbe(serializedBytes: bytes), expected)
    }

    func testKnownFieldWithUnexpectedWireTypeIsSkippedLikeAnUnknownField() throws {
        // Field 14 (string) sent as a varint, field 1 (bool) sent as LEN.
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("70 05 0a 01 01")), ScalarProbe())
    }

    func testLastOccurrenceOfAScalarWins() throws {
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("72 01 61 72 01 62")).string, "b")
    }

    func testGroupsAreRejected() {
        XCTAssertEqual(decodeError(hex("a3 06 a4 06")), .groupsUnsupported(field: 100))
        XCTAssertEqual(decodeError(hex("0c")), .groupsUnsupported(field: 1))
    }

    // MARK: Truncation

    func testTruncatedTag() {
        XCTAssertEqual(decodeError(hex("80")), .truncated(offset: 0, needed: 2, available: 1))
    }

    func testTruncatedVarintValue() {
        XCTAssertEqual(decodeError(hex("08")), .truncated(offset: 1, needed: 1, available: 0))
        XCTAssertEqual(decodeError(hex("08 80 80")), .truncated(offset: 1, needed: 3, available: 2))
        XCTAssertEqual(decodeError(hex("a8 06 ff")), .truncated(offset: 2, needed: 2, available: 1))
    }

    func testTruncatedFixed64() {
        XCTAssertEqual(decodeError(hex("49 01 02 03")), .truncated(offset: 1, needed: 8, available: 3))
        XCTAssertEqual(decodeError(hex("b1 06 01 02 03 04 05 06 07")), .truncated(offset: 2, needed: 8, available: 7))
    }

    func testTruncatedFixed32() {
        XCTAssertEqual(decodeError(hex("45 01")), .truncated(offset: 1, needed: 4, available: 1))
        XCTAssertEqual(decodeError(hex("bd 06")), .truncated(offset: 2, needed: 4, available: 0))
    }

    func testTruncatedLengthDelimited() {
        XCTAssertEqual(decodeError(hex("72 05 61 62")), .truncated(offset: 2, needed: 5, available: 2))
        XCTAssertEqual(decodeError(hex("ba 06 03 61")), .truncated(offset: 3, needed: 3, available: 1))
        XCTAssertEqual(decodeError(hex("72 80")), .truncated(offset: 1, needed: 2, available: 1))
    }

    func testLengthFarBeyondTheBufferIsAnErrorNotAnAllocation() {
        XCTAssertEqual(decodeError(hex("72 ff ff ff ff ff ff ff ff 7f")), .truncated(offset: 10, needed: Int.max, available: 0))
        XCTAssertEqual(decodeError(hex("7a ff ff ff ff ff ff ff ff ff 01 00")), .truncated(offset: 11, needed: Int.max, available: 1))
        XCTAssertEqual(decodeError(hex("7a ff ff ff ff 0f 00")), .truncated(offset: 6, needed: 0xFFFF_FFFF, available: 1))
    }

    func testNestedLengthIsBoundedByTheEnclosingFieldAndOffsetsAreAbsolute() {
        // Field 18 holds 3 bytes: a string field claiming 5.
        XCTAssertEqual(decodeError(hex("92 01 03 72 05 61 62 63 64 65")), .truncated(offset: 5, needed: 5, available: 1))
    }

    func testOffsetsCountFromTheStartOfASliceInput() {
        let buffer = hex("ff ff 08 80")
        var reader = ProtoReader(buffer[2...])
        XCTAssertEqual(reader.offset, 0)
        XCTAssertThrowsError(try ScalarProbe(serializedBytes: buffer[2...])) { error in
            XCTAssertEqual(error as? ProtoWireError, .truncated(offset: 1, needed: 2, available: 1))
        }
        XCTAssertEqual(try reader.nextField()?.number, 1)
        XCTAssertEqual(reader.offset, 1)
    }

    // MARK: Malformed tags and varints

    func testVarintLongerThanTenBytesIsAnError() {
        XCTAssertEqual(decodeError(hex("08 80 80 80 80 80 80 80 80 80 80 01")), .varintTooLong(offset: 1))
        XCTAssertEqual(decodeError(hex("80 80 80 80 80 80 80 80 80 80 01")), .varintTooLong(offset: 0))
    }

    func testTenthVarintByteAboveOneOverflowsSixtyFourBits() {
        XCTAssertEqual(decodeError(hex("28 ff ff ff ff ff ff ff ff ff 02")), .varintTooLong(offset: 1))
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("28 ff ff ff ff ff ff ff ff ff 01")).uint64, UInt64.max)
    }

    func testNonCanonicalPaddedVarintIsAccepted() throws {
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("28 81 80 80 00")).uint64, 1)
    }

    func testFieldNumberZeroIsAnError() {
        XCTAssertEqual(decodeError(hex("00 01")), .fieldNumberZero(offset: 0))
        XCTAssertEqual(decodeError(hex("08 01 02 00")), .fieldNumberZero(offset: 2))
        XCTAssertEqual(decodeError(hex("80 00")), .fieldNumberZero(offset: 0))
    }

    func testFieldNumberAboveTwoToTheTwentyNinthIsAnError() throws {
        XCTAssertEqual(decodeError(hex("80 80 80 80 10 00")), .fieldNumberOutOfRange(1 << 29, offset: 0))
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("f8 ff ff ff 0f 00")), ScalarProbe())
    }

    func testWireTypesSixAndSevenAreErrors() {
        XCTAssertEqual(decodeError(hex("0e 00")), .invalidWireType(6, offset: 0))
        XCTAssertEqual(decodeError(hex("08 01 0f")), .invalidWireType(7, offset: 2))
    }

    // MARK: Typed reads

    func testInvalidUTF8StringIsAnError() {
        XCTAssertEqual(decodeError(hex("72 01 ff")), .invalidUTF8(field: 14))
        XCTAssertEqual(decodeError(hex("72 02 c0 80")), .invalidUTF8(field: 14))  // overlong NUL
        XCTAssertEqual(decodeError(hex("72 03 ed a0 80")), .invalidUTF8(field: 14))  // surrogate
        XCTAssertEqual(decodeError(hex("82 01 01 ff")), .invalidUTF8(field: 16))
    }

    func testBytesFieldAcceptsAnyBytes() throws {
        XCTAssertEqual(try ScalarProbe(serializedBytes: hex("7a 02 ff 00")).bytes, [0xFF, 0])
    }

    func testReadingAFieldAsTheWrongWireTypeIsAnError() throws {
        var reader = ProtoReader(hex("08 01"))
        XCTAssertEqual(try reader.nextField()?.wireType, .varint)
        XCTAssertThrowsError(try reader.readString()) { error in
            XCTAssertEqual(error as? ProtoWireError, .wrongWireType(field: 1, expected: .lengthDelimited, actual: .varint))
        }
        reader = ProtoReader(hex("0a 00"))
        _ = try reader.nextField()
        XCTAssertThrowsError(try reader.readFixed32()) { error in
            XCTAssertEqual(error as? ProtoWireError, .wrongWireType(field: 1, expected: .fixed32, actual: .lengthDelimited))
        }
    }

    func testNextFieldReturnsNilAtTheEnd() throws {
        var reader = ProtoReader([UInt8]())
        XCTAssertNil(try reader.nextField())
        XCTAssertTrue(reader.isAtEnd)
    }

    func testPackedAndUnpackedVarintsAreBothAccepted() throws {
        var reader = ProtoReader(hex("0a 04 01 ac 02 00 08 07 0a 00"))
        var values: [UInt64] = []
        while try reader.nextField() != nil {
            values += try reader.readPackedVarints()
        }
        XCTAssertEqual(values, [1, 300, 0, 7])
    }

    func testTruncatedPackedVarintIsAnError() throws {
        var reader = ProtoReader(hex("0a 02 01 80"))
        _ = try reader.nextField()
        XCTAssertThrowsError(try reader.readPackedVarints()) { error in
            XCTAssertEqual(error as? ProtoWireError, .truncated(offset: 3, needed: 2, available: 1))
        }
    }

    func testReaderAcceptsAnyByteCollection() throws {
        let probe = try ScalarProbe(serializedBytes: hex("72 01 61 08 01").reversed().reversed())
        XCTAssertEqual(probe.string, "a")
        XCTAssertTrue(probe.bool)
    }

    // MARK: Maps

    func testMapEntryToleratesMissingFieldsAnyOrderAndUnknownFields() throws {
        let bytes = hex("""
            8a 01 05 12 01 76 0a 00
            8a 01 03 0a 01 6b
            8a 01 00
            8a 01 0d 18 05 12 01 32 0a 01 6a 25 00 00 00 00
            8a 01 06 0a 01 6b 12 01 77
            """)
        // "" → "v", then "k" → "", then "" → "" (overrides), "j" → "2", "k" → "w" (overrides).
        XCTAssertEqual(try ScalarProbe(serializedBytes: bytes).map, ["": "", "j": "2", "k": "w"])
    }

    func testErrorDescriptionsNameTheOffendingValue() {
        XCTAssertEqual(ProtoWireError.truncated(offset: 3, needed: 5, available: 1).description,
                       "truncated protobuf: value at offset 3 needs 5 bytes, 1 available")
        XCTAssertEqual(ProtoWireError.wrongWireType(field: 2, expected: .varint, actual: .fixed32).description,
                       "field 2 read as VARINT but encoded as I32")
    }
}
