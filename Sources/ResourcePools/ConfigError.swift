/// A configuration that cannot be used, naming the resource, the key and the value.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Error, Equatable {
        case invalidValue(String)
        case unknownKey(String)
        case missingKey(String)
    }

    /// The resource the problem is in, nil for the file as a whole.
    public var resource: String?
    /// Where in the resource: `selectors[0].vendors`.
    public var key: String?
    public var reason: Reason

    public init(resource: String?, key: String?, _ reason: Reason) {
        self.resource = resource
        self.key = key
        self.reason = reason
    }

    public var description: String {
        var text = "config"
        if let resource { text += ": resource \"\(resource)\"" }
        if let key { text += ": \(key)" }
        switch reason {
        case .invalidValue(let message): text += ": " + message
        case .unknownKey(let name): text += ": unknown key \"\(name)\""
        case .missingKey(let name): text += ": missing required key \"\(name)\""
        }
        return text
    }
}
