#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// Reads attribute files and links below one root (`/sys` in production, a fixture
/// tree in tests). Every read is a single small syscall sequence; a missing or
/// unreadable attribute is `nil`, because sysfs attributes come and go with drivers.
struct SysfsReader: Sendable {
    let root: String

    func path(_ relative: String) -> String { root + "/" + relative }

    /// The attribute's contents without the trailing newline.
    func string(_ relative: String) -> String? {
        let fd = open(path(relative), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            ScanFaults.note()
            return nil
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { raw in retryingOnInterrupt { read(fd, raw.baseAddress, raw.count) } }
            guard count >= 0 else {
                ScanFaults.note()
                return nil  // e.g. `carrier` of a down link answers EINVAL
            }
            bytes.append(contentsOf: buffer[0..<count])
            // A sysfs attribute arrives in one read; a short read means the end,
            // which saves the extra read(2) per attribute on large nodes.
            if count < buffer.count { break }
        }
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == 0 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    func int(_ relative: String) -> Int? {
        string(relative).flatMap { Int($0.trimmingWhitespace) }
    }

    /// Parses `0x10c9`-style attributes (vendor, device, class).
    func hexNumber(_ relative: String) -> UInt32? {
        guard var text = string(relative)?.trimmingWhitespace else { return nil }
        if text.hasPrefix("0x") || text.hasPrefix("0X") { text.removeFirst(2) }
        return UInt32(text, radix: 16)
    }

    /// The target of a symbolic link as stored, or nil if it is not a link.
    func link(_ relative: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path(relative), &buffer, buffer.count - 1)
        guard count > 0 else {
            ScanFaults.note()
            return nil
        }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The last path component of a link's target (`driver` → `igb`).
    func linkName(_ relative: String) -> String? {
        link(relative).map { lastComponent($0) }
    }

    /// The fully resolved path of an entry, symlinks followed.
    func resolved(_ relative: String) -> String? {
        guard let raw = realpath(path(relative), nil) else {
            ScanFaults.note()
            return nil
        }
        defer { free(raw) }
        return String(cString: raw)
    }

    /// Entry names of a directory, sorted, without `.` and `..`; empty if absent.
    func entries(_ relative: String) -> [String] {
        guard let dir = opendir(path(relative)) else {
            ScanFaults.note()
            return []
        }
        defer { closedir(dir) }
        return sortedEntryNames(dir)
    }

    func exists(_ relative: String) -> Bool {
        access(path(relative), F_OK) == 0
    }
}

func lastComponent(_ path: String) -> String {
    String(lastComponentSlice(path))
}

/// The last `/`-separated component, by bytes (a scan takes thousands of these).
func lastComponentSlice(_ path: Substring) -> Substring {
    var end = path.utf8.endIndex
    while end > path.utf8.startIndex, path.utf8[path.utf8.index(before: end)] == UInt8(ascii: "/") { end = path.utf8.index(before: end) }
    let trimmed = path[..<end]
    guard let slash = trimmed.utf8.lastIndex(of: UInt8(ascii: "/")) else { return trimmed }
    return trimmed[trimmed.utf8.index(after: slash)...]
}

func lastComponentSlice(_ path: String) -> Substring { lastComponentSlice(Substring(path)) }

extension String {
    /// Without leading and trailing ASCII whitespace, by bytes: sysfs attributes are
    /// ASCII, and Character's `isWhitespace` costs a grapheme break per character on
    /// thousands of reads a scan.
    var trimmingWhitespace: String { trimmedASCIIWhitespace(utf8[...]) }

    /// Whether `needle` occurs in the text, comparing bytes (driver and port names on
    /// every function of a scan; the generic `contains` is several times slower).
    func containsBytes(_ needle: StaticString) -> Bool { bytes(utf8[...], contain: needle) }
}

extension Substring {
    var trimmingWhitespace: String { trimmedASCIIWhitespace(utf8) }
    func containsBytes(_ needle: StaticString) -> Bool { bytes(utf8, contain: needle) }
}

private func trimmedASCIIWhitespace(_ bytes: Substring.UTF8View) -> String {
    var start = bytes.startIndex, end = bytes.endIndex
    while start < end, isASCIIWhitespace(bytes[start]) { start = bytes.index(after: start) }
    while end > start, isASCIIWhitespace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
    return String(decoding: bytes[start..<end], as: UTF8.self)
}

private func bytes(_ bytes: Substring.UTF8View, contain needle: StaticString) -> Bool {
    let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
    guard let first = pattern.first else { return true }
    var start = bytes.startIndex
    while let match = bytes[start...].firstIndex(of: first) {
        if bytes[match...].starts(with: pattern) { return true }
        start = bytes.index(after: match)
    }
    return false
}

private func isASCIIWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (0x09...0x0d).contains(byte)
}

/// The entry names of an open directory stream, sorted, without `.` and `..`.
func sortedEntryNames(_ dir: OpaquePointer) -> [String] {
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}
