#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// One open sysfs directory (a PCI function, a netdev, an RDMA port) whose
/// attributes are read relative to it with openat(2) and readlinkat(2). The kernel
/// then walks one path component per attribute instead of the root, the
/// `bus/pci/devices` or `class/net` link and the whole device path each time, which
/// is most of a scan's cost on a node with thousands of VFs.
final class SysfsDirectory {
    private let descriptor: Int32

    /// Opens `path`, following a final symlink (`bus/pci/devices/<address>`).
    init?(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            ScanFaults.note()
            return nil
        }
        self.descriptor = descriptor
    }

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// A directory below this one.
    func subdirectory(_ name: String) -> SysfsDirectory? {
        let child = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard child >= 0 else {
            ScanFaults.note()
            return nil
        }
        return SysfsDirectory(descriptor: child)
    }

    /// The attribute's bytes without trailing newlines, read with one read(2) into a
    /// stack buffer: a sysfs attribute is at most one page and arrives whole
    /// (fs/sysfs/file.c). nil when it is missing or unreadable, e.g. `carrier` of a
    /// down link (EINVAL).
    func withAttribute<Result>(_ name: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result?) -> Result? {
        let file = openat(descriptor, name, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else {
            ScanFaults.note()
            return nil
        }
        defer { close(file) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer -> Result? in
            var count = retryingOnInterrupt { read(file, buffer.baseAddress, buffer.count) }
            guard count >= 0 else {
                ScanFaults.note()
                return nil
            }
            while count > 0, buffer[count - 1] == UInt8(ascii: "\n") || buffer[count - 1] == 0 { count -= 1 }
            return body(UnsafeBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    func string(_ name: String) -> String? {
        withAttribute(name) { String(decoding: $0, as: UTF8.self) }
    }

    /// A decimal attribute (`mtu`, `numa_node`, `-1`), parsed from the bytes.
    func int(_ name: String) -> Int? {
        withAttribute(name, parseDecimal)
    }

    /// The target of a symbolic link as stored, or nil if it is not a link.
    func link(_ name: String) -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(PATH_MAX)) { buffer -> String? in
            let count = readlinkat(descriptor, name, buffer.baseAddress!, buffer.count)
            guard count > 0 else {
                ScanFaults.note()
                return nil
            }
            return String(decoding: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<count]), as: UTF8.self)
        }
    }

    /// The last component of a link's target (`driver` → `igb`).
    func linkName(_ name: String) -> String? {
        link(name).map(lastComponent)
    }

    /// Entry names of this directory, or of `name` below it, sorted, without `.` and `..`.
    func entries(_ name: String = ".") -> [String] {
        // fdopendir takes the descriptor over, so it gets one of its own.
        let listed = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard listed >= 0 else {
            ScanFaults.note()
            return []
        }
        guard let dir = fdopendir(listed) else {
            ScanFaults.note()
            close(listed)
            return []
        }
        defer { closedir(dir) }
        return sortedEntryNames(dir)
    }
}

/// `-1`, `1500`, with surrounding blanks; nil for anything else.
func parseDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var start = bytes.startIndex, end = bytes.endIndex
    while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
    while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
    var negative = false
    if start < end, bytes[start] == UInt8(ascii: "-") { negative = true; start += 1 }
    guard start < end, end - start <= 18 else { return nil }
    var value = 0
    for byte in bytes[start..<end] {
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        // At most 18 digits: cannot overflow Int64.
        value = value &* 10 &+ Int(byte &- UInt8(ascii: "0"))
    }
    return negative ? -value : value
}
