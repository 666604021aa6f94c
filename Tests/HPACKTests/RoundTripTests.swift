import HPACK
import XCTest

/// Random header lists through an encoder and a decoder sharing a connection, with table size
/// changes between blocks: the decoder must return exactly what was encoded and both tables
/// must stay identical.
final class RoundTripTests: XCTestCase {
    /// SplitMix64: deterministic, so a failure replays with the same seed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    private static let names = [
        ":method", ":path", ":status", ":authority", "content-type", "user-agent", "te",
        "grpc-status", "grpc-message", "grpc-timeout", "cache-control", "custom-key", "x-trace-id",
    ]
    private static let values = ["", "GET", "POST", "200", "0", "application/grpc", "trailers", "/index.html"]
    private static let alphabet: [Character] = Array("abcXYZ019 -_/.:;%~é日本\u{1F600}\t\"")

    private func randomString(using generator: inout SeededGenerator, maxLength: Int) -> String {
        let length = Int.random(in: 0...maxLength, using: &generator)
        return String((0..<length).map { _ in Self.alphabet.randomElement(using: &generator) ?? "a" })
    }

    private func randomHeaders(using generator: inout SeededGenerator) -> [HeaderField] {
        (0..<Int.random(in: 0...12, using: &generator)).map { _ in
            let name = Bool.random(using: &generator)
                ? Self.names.randomElement(using: &generator) ?? "x"
                : randomString(using: &generator, maxLength: 20)
            let value = Bool.random(using: &generator)
                ? Self.values.randomElement(using: &generator) ?? ""
                : randomString(using: &generator, maxLength: 300)
            let neverIndexed = Int.random(in: 0..<10, using: &generator) == 0
            return HeaderField(name: name, value: value, neverIndexed: neverIndexed)
        }
    }

    private func runConnection(seed: UInt64, useHuffman: Bool, indexing: Bool) throws {
        var generator = SeededGenerator(state: seed)
        var encoder = HPACKEncoder(useHuffman: useHuffman, indexing: indexing)
        var decoder = HPACKDecoder(maxHeaderListSize: .max)
        for block in 0..<200 {
            // Sometimes the peer (decoder side) changes its advertised table size, once or
            // twice, before the next block; the encoder learns it from the same SETTINGS.
            for _ in 0..<(Int.random(in: 0..<8, using: &generator) == 0 ? Int.random(in: 1...2, using: &generator) : 0) {
                let size = [0, 64, 256, 1024, 4096, 8192].randomElement(using: &generator) ?? 4096
                decoder.maxTableSize = size
                encoder.setMaxTableSize(size)
            }
            let headers = randomHeaders(using: &generator)
            let encoded = encoder.encode(headers)
            let context = "seed \(seed) block \(block)"
            XCTAssertEqual(try decoder.decode(encoded), headers, context)
            XCTAssertEqual(decoder.dynamicTableEntries, encoder.dynamicTableEntries, context)
            XCTAssertEqual(decoder.dynamicTableSize, encoder.dynamicTableSize, context)
        }
    }

    func testRandomHeaderListsRoundTripWithHuffmanAndIndexing() throws {
        for seed in UInt64(1)...10 { try runConnection(seed: seed, useHuffman: true, indexing: true) }
    }

    func testRandomHeaderListsRoundTripWithoutHuffman() throws {
        for seed in UInt64(11)...15 { try runConnection(seed: seed, useHuffman: false, indexing: true) }
    }

    func testRandomHeaderListsRoundTripWithoutIndexing() throws {
        for seed in UInt64(16)...20 { try runConnection(seed: seed, useHuffman: true, indexing: false) }
    }

    func testRandomOctetStringsSurviveHuffmanRoundTrip() throws {
        var generator = SeededGenerator(state: 42)
        var encoder = HPACKEncoder()
        var decoder = HPACKDecoder()
        for _ in 0..<500 {
            // Every octet value, as UTF-8-valid text built from Latin-1 scalars.
            let value = String((0..<Int.random(in: 0...64, using: &generator)).map { _ in
                Character(Unicode.Scalar(UInt8.random(in: 0...255, using: &generator)))
            })
            let headers = [HeaderField(name: "x-bin", value: value)]
            XCTAssertEqual(try decoder.decode(encoder.encode(headers)), headers)
        }
    }
}
