import JSONValue

/// A key the config parser met but does not act on: accepted (as Go's decoder, and so
/// SRIOV-DP and k8s-rdma-shared-dev-plugin, accepts it) and reported, unless the parse
/// is strict.
public struct ConfigWarning: Equatable, Sendable, CustomStringConvertible {
    /// The resource it is in, nil for the file as a whole.
    public var resource: String?
    /// Where in the resource: `selectors[0]`; nil at the resource's (or the file's) top.
    public var path: String?
    public var key: String

    public var description: String {
        var text = "config"
        if let resource { text += ": resource \"\(resource)\"" }
        if let path { text += ": \(path)" }
        return text + ": unknown key \"\(key)\" ignored"
    }
}

/// How one parse treats keys: as Go's encoding/json does (a known key matches whatever
/// its case, an unknown one is ignored, here with a warning), or strictly (an unknown
/// key is an error, a known one must be spelled exactly).
struct KeyMatcher {
    let strict: Bool
    var warnings: [ConfigWarning] = []

    /// The object's members under their known spelling. A key given twice (in any mix
    /// of cases) takes its last value, as Go's decoder does. `ignored` are keys the
    /// anchors' own types carry but nothing reads (accepted silently).
    mutating func members(_ pairs: [(String, JSON)], known: Set<String>, ignored: Set<String> = [],
                          resource: String?, path: String?) throws(ConfigError) -> [String: JSON] {
        var result: [String: JSON] = [:]
        for (key, value) in pairs {
            if known.contains(key) {
                result[key] = value
                continue
            }
            if strict { throw ConfigError(resource: resource, key: path, .unknownKey(key)) }
            let folded = key.lowercased()
            if let canonical = known.first(where: { $0.lowercased() == folded }) {
                result[canonical] = value
            } else if !ignored.contains(where: { $0.lowercased() == folded }) {
                warnings.append(ConfigWarning(resource: resource, path: path, key: key))
            }
        }
        return result
    }
}
