/// A network interface name as the kernel takes it (`dev_valid_name`, which the Go
/// library's ValidateInterfaceName mirrors): 1–15 bytes, not `.` or `..`, no `/`,
/// `:` or whitespace.
public struct InterfaceName: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// nil when the kernel would refuse the name; `problem(with:)` says why.
    public init?(_ text: String) {
        guard Self.problem(with: text) == nil else { return nil }
        rawValue = text
    }

    public var description: String { rawValue }

    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "interface name is empty" }
        if name.utf8.count > 15 { return "interface name \(name) is longer than 15 characters" }
        if name == "." || name == ".." { return "interface name \(name) is not allowed" }
        if name.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 == 0x20 || (0x09...0x0D).contains($0) }) {
            return "interface name \(name) contains '/', ':' or whitespace"
        }
        return nil
    }
}

/// A container ID or a network name: the Go library's ValidateContainerID and
/// ValidateNetworkName, one rule, `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`.
public struct CNIIdentifier: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// nil when `text` does not match the rule.
    public init?(_ text: String) {
        guard Self.matches(text) else { return nil }
        rawValue = text
    }

    public var description: String { rawValue }

    static func matches(_ text: String) -> Bool {
        guard let first = text.utf8.first, isASCIIAlphanumeric(first) else { return false }
        return text.utf8.dropFirst().allSatisfy { isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// Why `id` is no container ID, or nil.
    public static func containerIDProblem(_ id: String) -> String? {
        if id.isEmpty { return "container ID is empty" }
        return matches(id) ? nil : "container ID \(id) must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"
    }

    /// Why `name` is no network name, or nil.
    public static func networkNameProblem(_ name: String) -> String? {
        matches(name) ? nil : "network name \(name) must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"
    }
}

private func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
}
