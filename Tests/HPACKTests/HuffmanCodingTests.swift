@testable import HPACK
import XCTest
import TestSupport

/// RFC 7541 §5.2 and Appendix B, with the strings of Appendix C.4 and C.6.
final class HuffmanCodingTests: XCTestCase {
    private static let rfcStrings: [(text: String, coded: String)] = [
        ("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
        ("no-cache", "a8eb 1064 9cbf"),
        ("custom-key", "25a8 49e9 5ba9 7d7f"),
        ("custom-value", "25a8 49e9 5bb8 e8b4 bf"),
        ("302", "6402"),
        ("private", "aec3 771a 4b"),
        ("Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"),
        ("https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"),
        ("307", "640e ff"),
        ("gzip", "9bd9 ab"),
        ("foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
         "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07"),
    ]

    private func decode(_ bytes: [UInt8]) throws -> [UInt8] {
        try HuffmanCoding.decode(bytes[...])
    }

    func testEncodesTheRFCExampleStrings() {
        for (text, coded) in Self.rfcStrings {
            var buffer: [UInt8] = []
            HuffmanCoding.encode(text.utf8, into: &buffer)
            XCTAssertEqual(buffer, hex(coded), text)
            XCTAssertEqual(HuffmanCoding.encodedLength(of: text.utf8), buffer.count, text)
        }
    }

    func testDecodesTheRFCExampleStrings() throws {
        for (text, coded) in Self.rfcStrings {
            XCTAssertEqual(try decode(hex(coded)), ascii(text), text)
        }
    }

    func testEveryOctetRoundTrips() throws {
        let everyOctet = (0...255).map { UInt8($0) }
        var buffer: [UInt8] = []
        HuffmanCoding.encode(everyOctet, into: &buffer)
        XCTAssertEqual(try decode(buffer), everyOctet)
        for octet in everyOctet {
            buffer = []
            HuffmanCoding.encode([octet], into: &buffer)
            XCTAssertEqual(try decode(buffer), [octet], "octet \(octet)")
        }
    }

    func testEmptyStringDecodesToNothing() throws {
        XCTAssertEqual(try decode([]), [])
    }

    func testEndOfStringSymbolInsideStringIsInvalid() {
        // EOS is 30 one bits; 32 ones contain it whole.
        XCTAssertThrowsError(try decode([0xff, 0xff, 0xff, 0xff])) {
            XCTAssertEqual($0 as? HPACKError, .invalidHuffmanCode)
        }
        // 'a' (00011) then EOS then padding.
        XCTAssertThrowsError(try decode([0b0001_1111, 0xff, 0xff, 0xff, 0xff])) {
            XCTAssertEqual($0 as? HPACKError, .invalidHuffmanCode)
        }
    }

    func testPaddingOfEightOrMoreBitsIsInvalid() {
        // '0' (00000, 5 bits) then 11 one bits: a whole octet of padding.
        XCTAssertThrowsError(try decode([0b0000_0111, 0xff])) {
            XCTAssertEqual($0 as? HPACKError, .invalidHuffmanCode)
        }
        // An octet of nothing but padding.
        XCTAssertThrowsError(try decode([0xff])) {
            XCTAssertEqual($0 as? HPACKError, .invalidHuffmanCode)
        }
    }

    func testPaddingThatIsNotAllOnesIsInvalid() {
        // '0' (00000) then 110: not a prefix of EOS.
        XCTAssertThrowsError(try decode([0b0000_0110])) {
            XCTAssertEqual($0 as? HPACKError, .invalidHuffmanCode)
        }
    }

    func testStringCutInsideASymbolIsInvalid() {
        // "www.example.com" without its last octet: the final 'm' loses bits, and what is
        // left of it is not all ones.
        let truncated = Array(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff").dropLast())
        XCTAssertThrowsError(try decode(truncated)) {
            XCTAssertEqual($0 as? HPACKError, .invalidHuffmanCode)
        }
    }

    func testSevenBitsOfPaddingAreValid() throws {
        // 'a' (5 bits) + 'a' (5 bits) + ':' (7 bits) = 17 bits: the last octet holds one code
        // bit and seven bits of padding.
        var buffer: [UInt8] = []
        HuffmanCoding.encode(ascii("aa:"), into: &buffer)
        XCTAssertEqual(buffer.count, 3)
        XCTAssertEqual(buffer.last.map { $0 & 0x7f }, 0x7f)
        XCTAssertEqual(try decode(buffer), ascii("aa:"))
    }
}
