@testable import JSONValue
import XCTest

final class JSONTests: XCTestCase {
    func testParsesEveryKindOfValue() throws {
        let json = try JSON.parse(#" {"a": [1, -2.5e3, true, false, null, "x"], "b": {}, "c": [], "d": "\u00e9\ud83d\ude00\n\"\\/"} "#)
        XCTAssertEqual(json["a"], .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null, .string("x")]))
        XCTAssertEqual(json["b"], .object([]))
        XCTAssertEqual(json["c"], .array([]))
        XCTAssertEqual(json["d"]?.stringValue, "é😀\n\"\\/")
        XCTAssertEqual(json["a"]?.arrayValue?[0].intValue, 1)
        XCTAssertEqual(json["a"]?.arrayValue?[1].intValue, -2500)
        XCTAssertNil(JSON.number("0.5").intValue)
        XCTAssertEqual(JSON.number("1e2").intValue, 100)
    }

    func testRejectsMalformedDocumentsWithTheOffset() {
        let cases: [(String, Int, String)] = [
            ("", 0, "unexpected end of input"),
            ("{", 1, "expected a member name"),
            (#"{"a" 1}"#, 5, "expected ':'"),
            ("[1,]", 3, "unexpected character ']'"),
            ("01", 1, "unexpected data after the value"),
            (#""\x""#, 3, "invalid escape"),
            (#""\ud800""#, 7, "unpaired surrogate"),
            ("\"a\u{01}\"", 2, "control character in a string"),
            ("[1] x", 4, "unexpected data after the value"),
            ("tru", 0, "expected true"),
            ("-", 1, "incomplete number"),
            ("1.", 2, "expected a digit after '.'"),
        ]
        for (text, offset, reason) in cases {
            XCTAssertThrowsError(try JSON.parse(text), text) { error in
                XCTAssertEqual(error as? JSONSyntaxError, JSONSyntaxError(offset: offset, reason: reason), text)
            }
        }
        XCTAssertThrowsError(try JSON.parse([0x22, 0xFF, 0x22])) { error in
            XCTAssertEqual((error as? JSONSyntaxError)?.reason, "invalid UTF-8 in a string")
        }
        XCTAssertThrowsError(try JSON.parse(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)))
    }

    func testSerializesCompactlyAndPrettyInMemberOrder() throws {
        let json = JSON.object([("z", JSON(1)), ("a", .array([.string("x\"\n\u{1}"), .null])), ("e", .object([]))])
        XCTAssertEqual(json.serialized, #"{"z":1,"a":["x\"\n\u0001",null],"e":{}}"#)
        XCTAssertEqual(json.prettyPrinted, """
            {
              "z": 1,
              "a": [
                "x\\"\\n\\u0001",
                null
              ],
              "e": {}
            }
            """)
        XCTAssertEqual(try JSON.parse(json.serialized), json)
        XCTAssertEqual(try JSON.parse(json.prettyPrinted), json)
    }

    func testSetReplacesAndAppendsMembers() {
        var json = JSON.object([("a", JSON(1))])
        json.set("a", JSON(2))
        json.set("b", .bool(true))
        json.remove("a")
        XCTAssertEqual(json.serialized, #"{"b":true}"#)
    }
}
