/// What the DRA driver refuses, each naming what was wrong.
public enum DRAError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(String)
    /// A ResourceClaim this driver cannot prepare: the claim named, and why.
    case claim(namespace: String, name: String, String)
    /// Claim parameters (opaque config) this driver refuses.
    case parameters(String)
    case checkpoint(String)

    public var description: String {
        switch self {
        case .invalidName(let text): text
        case let .claim(namespace, name, why): "ResourceClaim \(namespace)/\(name): \(why)"
        case .parameters(let text): text
        case .checkpoint(let text): "checkpoint: \(text)"
        }
    }
}
