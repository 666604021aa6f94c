// libFuzzer target for the HPACK decoder (built by scripts/fuzz through this package).
//
// Input layout: one control octet, then header block octets.
// - control bits 0...5: where the rest splits into two blocks decoded by one decoder, sharing
//   its dynamic table (0 = all in the second block, 63 = all in the first);
// - bit 6: the decoder advertises a 256-octet table instead of 4096 (more eviction);
// - bit 7: the re-encoder uses Huffman coding.
// Every decoded list is re-encoded and decoded again: it must come back unchanged, with the
// encoder's and the second decoder's tables identical.

import HPACK

import CLibFuzzer

/// The entry point: SwiftPM links an executable target's `main` as `<target>_main`.
@_cdecl("FuzzHPACK_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in data.map { fuzzHPACK($0, size) } ?? 0 }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHPACK(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let control = input.first else { return 0 }
    let body = input[1...]
    let split = body.startIndex + body.count * Int(control & 0x3f) / 63
    let maxTableSize = control & 0x40 != 0 ? 256 : 4096

    var decoder = HPACKDecoder(maxTableSize: maxTableSize, maxHeaderListSize: 1 << 16)
    var decodedLists: [[HeaderField]] = []
    for block in [body[..<split], body[split...]] {
        do {
            decodedLists.append(try decoder.decode(block))
        } catch let error as HPACKError {
            _ = error.description
            // Only a too-large list leaves the table in step with the encoder's.
            guard case .headerListTooLarge = error else { break }
        } catch {
            fatalError("decode threw a non-HPACK error: \(error)")
        }
        guard decoder.dynamicTableSize <= decoder.dynamicTableCapacity,
              decoder.dynamicTableCapacity <= maxTableSize else {
            fatalError("dynamic table over its bound: \(decoder.dynamicTableSize)/\(decoder.dynamicTableCapacity)")
        }
    }

    var encoder = HPACKEncoder(useHuffman: control & 0x80 != 0)
    var redecoder = HPACKDecoder(maxHeaderListSize: .max)
    for fields in decodedLists {
        let encoded = encoder.encode(fields)
        let again: [HeaderField]
        do {
            again = try redecoder.decode(encoded)
        } catch {
            fatalError("re-encoded block does not decode: \(error)")
        }
        guard again == fields else { fatalError("round trip changed \(fields) into \(again)") }
        guard redecoder.dynamicTableEntries == encoder.dynamicTableEntries,
              redecoder.dynamicTableSize == encoder.dynamicTableSize else {
            fatalError("encoder and decoder tables differ after round trip")
        }
    }
    return 0
}
