/// A CNI specification version, `major.minor.patch`.
public struct CNIVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `1.0.0`; a missing patch (`0.3`) reads as 0, as the Go library does.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count),
              parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major, minor, parts.count == 3 ? Int(parts[2]) ?? 0 : 0)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: CNIVersion, rhs: CNIVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    /// The version this plugin implements.
    public static let current = CNIVersion(1, 1, 0)

    /// Every version whose configs this plugin accepts and whose result format it can
    /// print: 0.1.0 and 0.2.0 with the `ip4`/`ip6` result, as libcni converts to them.
    public static let supported: [CNIVersion] = [
        CNIVersion(0, 1, 0), CNIVersion(0, 2, 0), CNIVersion(0, 3, 0), CNIVersion(0, 3, 1), CNIVersion(0, 4, 0), CNIVersion(1, 0, 0), CNIVersion(1, 1, 0),
    ]

    /// A config without `cniVersion` is 0.1.0 (SPEC §1, pkg/types/create).
    public static let implied = CNIVersion(0, 1, 0)

    /// The first version with the `interfaces`/`ips` result; before it, `ip4` and `ip6`.
    public static let firstWithIPList = CNIVersion(0, 3, 0)

    /// CHECK exists from 0.4.0; STATUS and GC from 1.1.0.
    public static let firstWithCheck = CNIVersion(0, 4, 0)
    public static let firstWithStatusAndGC = CNIVersion(1, 1, 0)
}
