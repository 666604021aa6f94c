/// The attributes of a netlink payload, read without copying: a list of
/// (type, value) pairs in the order the kernel sent them. include/uapi/linux/netlink.h
/// struct nlattr: u16 length (header included), u16 type, value, padding to 4 bytes.
struct Attributes {
    private(set) var entries: [(type: UInt16, value: ArraySlice<UInt8>)] = []

    init(_ bytes: ArraySlice<UInt8>) {
        var offset = bytes.startIndex
        while bytes.endIndex - offset >= 4 {
            let length = Int(bytes.loadUnaligned(at: offset, as: UInt16.self))
            // NLA_TYPE_MASK: strip NLA_F_NESTED and NLA_F_NET_BYTEORDER.
            let type = bytes.loadUnaligned(at: offset + 2, as: UInt16.self) & 0x3FFF
            guard length >= 4, offset + length <= bytes.endIndex else { break }
            entries.append((type, bytes[(offset + 4)..<(offset + length)]))
            offset += (length + 3) & ~3
        }
    }

    subscript(_ type: Int) -> ArraySlice<UInt8>? {
        entries.last { $0.type == UInt16(type) }?.value
    }

    func all(_ type: Int) -> [ArraySlice<UInt8>] {
        entries.filter { $0.type == UInt16(type) }.map(\.value)
    }

    func nested(_ type: Int) -> Attributes? { self[type].map(Attributes.init) }

    func u8(_ type: Int) -> UInt8? {
        guard let value = self[type], value.count >= 1 else { return nil }
        return value[value.startIndex]
    }

    func u16(_ type: Int) -> UInt16? {
        guard let value = self[type], value.count >= 2 else { return nil }
        return value.loadUnaligned(at: value.startIndex, as: UInt16.self)
    }

    func u32(_ type: Int) -> UInt32? {
        guard let value = self[type], value.count >= 4 else { return nil }
        return value.loadUnaligned(at: value.startIndex, as: UInt32.self)
    }

    /// A string attribute without its terminating NUL.
    func string(_ type: Int) -> String? {
        guard let value = self[type] else { return nil }
        let text = value.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }

    func bytes(_ type: Int) -> [UInt8]? { self[type].map(Array.init) }
}

extension ArraySlice where Element == UInt8 {
    /// Reads a value of `type` at absolute index `offset`; the caller checks the bounds.
    func loadUnaligned<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        withUnsafeBytes { raw in
            raw.loadUnaligned(fromByteOffset: offset - startIndex, as: T.self)
        }
    }

    /// A C struct from the start of the slice, or nil when the slice is too short.
    func load<T: BitwiseCopyable>(_ type: T.Type) -> T? {
        guard count >= MemoryLayout<T>.size else { return nil }
        return withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}
