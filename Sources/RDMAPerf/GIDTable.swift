#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// One populated entry of a port's GID table as sysfs shows it.
public struct GIDEntry: Sendable, Equatable {
    public var index: Int
    public var gid: GID
    /// `gid_attrs/types/N`: "RoCE v2", "IB/RoCE v1"; nil when unreadable.
    public var type: String?
    /// `gid_attrs/ndevs/N`: the netdev the GID belongs to (RoCE only).
    public var netdev: String?

    public init(index: Int, gid: GID, type: String?, netdev: String?) {
        self.index = index
        self.gid = gid
        self.type = type
        self.netdev = netdev
    }

    public var isRoCEv2IPv4: Bool { type == "RoCE v2" && gid.ipv4Address != nil }
}

/// A port's GID table read from `<sysRoot>/class/infiniband/<device>/ports/<port>/`
/// (Documentation/ABI/stable/sysfs-class-infiniband), and the default choice.
public struct GIDTable: Sendable, Equatable {
    public var device: String
    public var port: Int
    /// Populated (non-zero) entries in index order.
    public var entries: [GIDEntry]

    public init(device: String, port: Int, entries: [GIDEntry]) {
        self.device = device
        self.port = port
        self.entries = entries
    }

    /// Reads the table; entries that are all zeros (unused) are left out.
    public static func read(sysRoot: String = "/sys", device: String, port: Int) -> GIDTable {
        let base = "\(sysRoot)/class/infiniband/\(device)/ports/\(port)"
        var entries: [GIDEntry] = []
        for name in (try? listDirectory("\(base)/gids")) ?? [] {
            guard let index = Int(name), let text = readAttribute("\(base)/gids/\(name)"),
                  let gid = GID(sysfsText: text), !gid.isZero else { continue }
            entries.append(GIDEntry(index: index, gid: gid,
                                    type: readAttribute("\(base)/gid_attrs/types/\(name)"),
                                    netdev: readAttribute("\(base)/gid_attrs/ndevs/\(name)")))
        }
        return GIDTable(device: device, port: port, entries: entries.sorted { $0.index < $1.index })
    }

    /// perftest's RoCE choice: the lowest-index RoCE v2 GID that maps an IPv4 address.
    public func defaultEntry() throws(GIDSelectionError) -> GIDEntry {
        guard let entry = entries.first(where: \.isRoCEv2IPv4) else {
            throw GIDSelectionError(device: device, port: port, requestedIndex: nil, entries: entries)
        }
        return entry
    }

    /// The entry a user asked for with `--gid-index`; it must be populated.
    public func entry(index: Int) throws(GIDSelectionError) -> GIDEntry {
        guard let entry = entries.first(where: { $0.index == index }) else {
            throw GIDSelectionError(device: device, port: port, requestedIndex: index, entries: entries)
        }
        return entry
    }
}

/// No GID fits: none is RoCE v2 over IPv4, or the requested index is empty.
public struct GIDSelectionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var device: String
    public var port: Int
    public var requestedIndex: Int?
    public var entries: [GIDEntry]

    public var description: String {
        let table = entries.isEmpty ? "the table is empty"
            : "it has " + entries.map { "\($0.index): \($0.gid) (\($0.type ?? "type unknown"))" }.joined(separator: ", ")
        if let requestedIndex {
            return "no usable GID at index \(requestedIndex) on \(device) port \(port); \(table)"
        }
        return "no usable GID on \(device) port \(port): no RoCE v2 GID with an IPv4 address "
            + "(give the netdev an IPv4 address, or pick one with --gid-index); \(table)"
    }
}


/// A sysfs attribute without its trailing newline; nil when it cannot be read
/// (an unused GID's type answers EINVAL).
func readAttribute(_ path: String) -> String? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 256)
    while true {
        let count = chunk.withUnsafeMutableBytes { raw in retryingOnInterrupt { read(descriptor, raw.baseAddress, raw.count) } }
        if count < 0 { return nil }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    while let last = bytes.last, last == UInt8(ascii: "\n") || last == 0 { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
}
