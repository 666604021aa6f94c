@_exported import DRACheckpoint
import ResourcePools

/// The names this driver gives in the DRA API: the driver itself, a pool per node and
/// resource pool, a device per pool device. All are checked against the API's rules
/// here (resource.k8s.io/v1 validation), so a publish never fails on a name.
public struct DRANames: Sendable, Equatable {
    /// The driver name (a DNS subdomain, at most 63 characters): the ResourceSlices'
    /// `spec.driver`, the DeviceClasses' selector, the kubelet plugin's name, and the
    /// domain of this driver's own device attributes.
    public var driver: String
    /// The node this daemon runs on (`spec.nodeName` of its slices).
    public var node: String

    public static let defaultDriver = "sriov-rdma.io"

    public init(driver: String = DRANames.defaultDriver, node: String) throws(DRAError) {
        guard driver.utf8.count <= 63, isDNSSubdomain(driver) else {
            throw .invalidName("driver name \"\(driver)\" must be a DNS subdomain of at most 63 characters")
        }
        guard node.utf8.count <= 253, isDNSSubdomain(node) else {
            throw .invalidName("node name \"\(node)\" is not a DNS subdomain")
        }
        self.driver = driver
        self.node = node
    }

    /// `<node>/<prefix>/<name>`, each part a DNS subdomain (the API allows pool names made
    /// of DNS subdomains separated by "/"): one pool per node and resource pool. A
    /// resource name's `_` becomes `-`.
    public func pool(_ pool: PoolConfig) -> String {
        node + "/" + pool.resourcePrefix.lowercased() + "/" + Self.dnsLabel(pool.resourceName)
    }

    /// A pool device's name in its slice, a DNS label: `0000:3b:02.3` → `0000-3b-02-3`,
    /// `mlx5_core.sf.4` → `mlx5-core-sf-4`.
    public static func device(_ id: String) -> String { dnsLabel(id) }

    /// Lower case, every character outside [a-z0-9] a `-`, no `-` at either end, at most 63.
    static func dnsLabel(_ text: String) -> String {
        var label = String(decoding: text.lowercased().utf8.map { isLowerAlphanumeric($0) ? $0 : UInt8(ascii: "-") }, as: UTF8.self)
        while label.hasPrefix("-") { label.removeFirst() }
        while label.hasSuffix("-") { label.removeLast() }
        return String(label.prefix(63))
    }
}

func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
}

/// RFC 1123 subdomain, as Kubernetes checks object names: lower-case labels of
/// [a-z0-9-] that start and end alphanumeric, joined by dots, at most 253 in all.
func isDNSSubdomain(_ text: String) -> Bool {
    guard !text.isEmpty, text.utf8.count <= 253 else { return false }
    return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
        guard let first = label.utf8.first, let last = label.utf8.last, label.utf8.count <= 63 else { return false }
        return isLowerAlphanumeric(first) && isLowerAlphanumeric(last)
            && label.utf8.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }
}
