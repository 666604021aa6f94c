/// Huffman coding of string literals with the static code of RFC 7541 Appendix B (§5.2).
///
/// Decoding runs a state machine that consumes 4 bits per step: the states are the 256
/// internal nodes of the code tree, and each (state, nibble) pair has a precomputed transition
/// giving the next state and at most one completed symbol (the shortest code is 5 bits long).
enum HuffmanCoding {
    // MARK: Encoding

    /// The length in octets of `bytes` once Huffman-coded, padding included.
    static func encodedLength<Bytes: Sequence<UInt8>>(of bytes: Bytes) -> Int {
        var bits = 0
        for byte in bytes {
            bits += Int(HuffmanTable.codes[Int(byte)].bitLength)
        }
        return (bits + 7) / 8
    }

    /// Appends the Huffman code of `bytes`, padded to an octet with the most significant bits
    /// of EOS, i.e. ones (§5.2).
    static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes, into buffer: inout [UInt8]) {
        // Holds fewer than 8 pending bits between symbols; adding a code of at most 30 bits
        // keeps it under 38 bits, so the shifts below never lose bits of a UInt64.
        var pending: UInt64 = 0
        var pendingBits = 0
        for byte in bytes {
            let (code, length) = HuffmanTable.codes[Int(byte)]
            pending = (pending << UInt64(length)) | UInt64(code)
            pendingBits += Int(length)
            while pendingBits >= 8 {
                pendingBits -= 8
                buffer.append(UInt8(truncatingIfNeeded: pending >> UInt64(pendingBits)))
            }
            pending &= (1 << UInt64(pendingBits)) - 1
        }
        if pendingBits > 0 {
            let padding = 8 - pendingBits
            buffer.append(UInt8(truncatingIfNeeded: (pending << UInt64(padding)) | ((1 << UInt64(padding)) - 1)))
        }
    }

    // MARK: Decoding

    /// Decodes a Huffman-coded string. Throws `invalidHuffmanCode` if it contains EOS or ends
    /// with padding that is longer than 7 bits or not all ones (§5.2).
    static func decode(_ encoded: ArraySlice<UInt8>) throws(HPACKError) -> [UInt8] {
        let machine = HuffmanDecodingMachine.shared
        let transitions = machine.transitions
        var decoded: [UInt8] = []
        // The shortest code is 5 bits, so n octets decode to at most 8n/5 symbols.
        decoded.reserveCapacity(encoded.count * 8 / 5)
        var state = 0
        for octet in encoded {
            try step(transitions[state << 4 | Int(octet >> 4)], state: &state, into: &decoded)
            try step(transitions[state << 4 | Int(octet & 0x0f)], state: &state, into: &decoded)
        }
        guard machine.isValidEnd[state] else { throw .invalidHuffmanCode }
        return decoded
    }

    @inline(__always)
    private static func step(
        _ transition: HuffmanDecodingMachine.Transition, state: inout Int, into decoded: inout [UInt8]
    ) throws(HPACKError) {
        if transition.reachesEndOfString { throw .invalidHuffmanCode }
        if transition.emitsSymbol { decoded.append(transition.symbol) }
        state = Int(transition.nextState)
    }
}

/// The decoder's transition table, built once from `HuffmanTable`.
struct HuffmanDecodingMachine: Sendable {
    struct Transition: Sendable {
        /// The internal node reached after the 4 bits; 0 is the root (a symbol boundary).
        var nextState: UInt8
        /// The symbol completed within the 4 bits, when `emitsSymbol`.
        var symbol: UInt8
        var emitsSymbol: Bool
        /// The 4 bits complete EOS, which a string must not contain (§5.2).
        var reachesEndOfString: Bool
    }

    /// 16 transitions per state, indexed by `state << 4 | nibble`.
    let transitions: [Transition]
    /// Whether the string may end in a state: the root, or at most 7 one-bits past a symbol
    /// boundary, which are the leading bits of EOS and so valid padding (§5.2).
    let isValidEnd: [Bool]

    static let shared = HuffmanDecodingMachine()

    private init() {
        let tree = HuffmanCodeTree()
        var transitions: [Transition] = []
        transitions.reserveCapacity(tree.internalNodeCount * 16)
        for state in 0..<tree.internalNodeCount {
            for nibble in 0..<16 {
                var node = state
                var transition = Transition(nextState: 0, symbol: 0, emitsSymbol: false, reachesEndOfString: false)
                for bitPosition in stride(from: 3, through: 0, by: -1) {
                    switch tree.child(of: node, bit: (nibble >> bitPosition) & 1) {
                    case .internal(let next):
                        node = next
                    case .symbol(let symbol) where symbol == HuffmanTable.endOfString:
                        transition.reachesEndOfString = true
                        node = 0
                    case .symbol(let symbol):
                        // The 5-bit minimum code length means one symbol at most per nibble.
                        transition.symbol = UInt8(truncatingIfNeeded: symbol)
                        transition.emitsSymbol = true
                        node = 0
                    }
                    if transition.reachesEndOfString { break }
                }
                transition.nextState = UInt8(truncatingIfNeeded: node)
                transitions.append(transition)
            }
        }
        self.transitions = transitions

        var isValidEnd = [Bool](repeating: false, count: tree.internalNodeCount)
        isValidEnd[0] = true
        var node = 0
        for _ in 1...7 {
            guard case .internal(let next) = tree.child(of: node, bit: 1) else { break }
            isValidEnd[next] = true
            node = next
        }
        self.isValidEnd = isValidEnd
    }
}

/// The binary tree of the Appendix B code: bit 0 goes left, bit 1 right; leaves are symbols.
/// Internal node 0 is the root. A complete prefix code of 257 symbols has 256 internal nodes,
/// so node numbers fit the decoder's UInt8 states.
private struct HuffmanCodeTree {
    enum Child {
        case `internal`(Int)
        case symbol(Int)
    }

    private var children: [[Child?]] = [[nil, nil]]

    var internalNodeCount: Int { children.count }

    init() {
        for (symbol, entry) in HuffmanTable.codes.enumerated() {
            var node = 0
            for bitPosition in stride(from: Int(entry.bitLength) - 1, through: 0, by: -1) {
                let bit = Int((entry.code >> UInt32(bitPosition)) & 1)
                if bitPosition == 0 {
                    children[node][bit] = .symbol(symbol)
                } else if case .internal(let next)? = children[node][bit] {
                    node = next
                } else {
                    children.append([nil, nil])
                    children[node][bit] = .internal(children.count - 1)
                    node = children.count - 1
                }
            }
        }
        // Constant data, not input: a wrong table is a programming error.
        precondition(children.count == 256 && children.allSatisfy { $0[0] != nil && $0[1] != nil },
                     "RFC 7541 Appendix B table must form a complete code")
    }

    func child(of node: Int, bit: Int) -> Child {
        // Never nil: the initializer checks every internal node has both children.
        children[node][bit] ?? .symbol(HuffmanTable.endOfString)
    }
}
