/// Cuts an incoming byte stream into frames (RFC 9113 §4.1). Bytes arrive in any
/// chunking; a frame is returned once it is complete. A frame longer than our
/// SETTINGS_MAX_FRAME_SIZE is a connection error FRAME_SIZE_ERROR (§4.2), raised
/// from the header alone so an attacker cannot make us buffer it.
struct FrameParser {
    var maxFrameSize: Int
    private var buffer: [UInt8] = []
    private var consumed = 0

    init(maxFrameSize: Int) { self.maxFrameSize = maxFrameSize }

    mutating func append(_ bytes: some Collection<UInt8>) {
        // Compact lazily: drop what was parsed before growing the buffer again.
        if consumed > 0 && consumed >= buffer.count / 2 {
            buffer.removeFirst(consumed)
            consumed = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet returned as frames.
    var pendingCount: Int { buffer.count - consumed }

    /// Up to `count` raw bytes at the front, left in place.
    func peekBytes(upTo count: Int) -> ArraySlice<UInt8> {
        buffer[consumed..<consumed + min(count, pendingCount)]
    }

    /// Takes `count` raw bytes off the front (the client preface), or nil if fewer are buffered.
    mutating func takeBytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard pendingCount >= count else { return nil }
        defer { consumed += count }
        return buffer[consumed..<consumed + count]
    }

    mutating func nextFrame() throws(HTTP2ConnectionError) -> Frame? {
        guard pendingCount >= 9 else { return nil }
        let header = buffer[consumed..<consumed + 9]
        let base = header.startIndex
        let length = Int(header[base]) << 16 | Int(header[base + 1]) << 8 | Int(header[base + 2])
        if length > maxFrameSize {
            throw HTTP2ConnectionError(.frameSizeError, "frame of \(length) bytes exceeds SETTINGS_MAX_FRAME_SIZE \(maxFrameSize)")
        }
        guard pendingCount >= 9 + length else { return nil }
        let frame = Frame(
            type: FrameType(header[base + 3]),
            flags: FrameFlags(rawValue: header[base + 4]),
            stream: readUInt32(header, at: 5) & 0x7fff_ffff,  // §4.1: the reserved bit is ignored
            payload: Array(buffer[consumed + 9..<consumed + 9 + length])
        )
        consumed += 9 + length
        return frame
    }
}
