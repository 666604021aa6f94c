/// An extended resource name, `<prefix>/<name>` (`intel.com/intel_sriov_netdevice`),
/// parsed once where the config is read. Each part follows SRIOV-DP's config rules;
/// `kubeletProblem` says whether kubelet would also accept the whole.
public struct ResourceName: Hashable, Sendable, CustomStringConvertible {
    public let prefix: String
    public let name: String

    /// Which part is wrong and why, in the words the config error shows.
    public enum Problem: Error, Equatable, Sendable {
        case name(String)
        case prefix(String)
    }

    /// `name` must match SRIOV-DP's `^[a-zA-Z0-9_-]+$`, `prefix` be a DNS subdomain.
    public init(prefix: String, name: String) throws(Problem) {
        if let problem = Self.problem(withName: name) { throw .name(problem) }
        if let problem = Self.problem(withPrefix: prefix) { throw .prefix(problem) }
        self.prefix = prefix
        self.name = name
    }

    /// Why `name` cannot be a resource name, or nil.
    public static func problem(withName name: String) -> String? {
        guard !name.isEmpty, name.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }) else {
            return "\"\(name)\" must match ^[a-zA-Z0-9_-]+$"
        }
        return nil
    }

    /// Why `prefix` cannot be a resource prefix, or nil.
    public static func problem(withPrefix prefix: String) -> String? {
        isDNSSubdomain(prefix) ? nil : "\"\(prefix)\" is not a DNS subdomain, and kubelet refuses resource names under it"
    }

    public var description: String { prefix + "/" + name }

    /// Why kubelet's extended-resource check (v1helper.IsExtendedResourceName) would
    /// refuse the name at Register, or nil: caught here so it fails with a clear message.
    public var kubeletProblem: String? {
        let qualified = description
        if qualified.contains("kubernetes.io/") { return "\"\(qualified)\" must not be in the kubernetes.io namespace" }
        if qualified.hasPrefix("requests.") { return "\"\(qualified)\" must not start with \"requests.\"" }
        // kubelet checks the quota name `requests.<prefix>` as a DNS subdomain too.
        guard isDNSSubdomain("requests." + prefix) else { return "\"\(prefix)\" is not a DNS subdomain" }
        let local = Array(name.utf8)
        guard local.count <= 63, isAlphanumeric(local.first!), isAlphanumeric(local.last!) else {
            return "\"\(name)\" must be at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric"
        }
        return nil
    }
}

/// A DNS subdomain (RFC 1123): at most 253 bytes of dot-separated labels, each 1–63
/// bytes of `[a-z0-9-]`, starting and ending alphanumeric.
func isDNSSubdomain(_ text: String) -> Bool {
    guard (1...253).contains(text.utf8.count) else { return false }
    return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
        let bytes = Array(label.utf8)
        guard (1...63).contains(bytes.count), let first = bytes.first, let last = bytes.last else { return false }
        return isLowerAlphanumeric(first) && isLowerAlphanumeric(last)
            && bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }
}

func isAlphanumeric(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte)
}

private func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x61...0x7a).contains(byte)
}
