/// A request to the API server that failed: the verb, the path, and what went wrong.
/// For an HTTP error the server's `Status` object supplies the reason (NotFound,
/// AlreadyExists, Conflict, Invalid, Forbidden, Gone, ...) and a message a person can
/// act on; for a transport error curl's own text (connection refused, the TLS failure).
public struct KubeAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Failure: Error, Sendable, Equatable {
        /// The server answered outside 2xx. `reason` and `message` come from the body's
        /// Status object when it has one.
        case status(code: Int, reason: String?, message: String?)
        /// No HTTP answer: curl's error code and its error buffer's text.
        case transport(curlCode: Int, text: String)
        /// A 2xx answer that is not what the API promises (not JSON, a list without items).
        case malformedResponse(String)
        /// The request could not be made: a token file unreadable, a handle not created.
        case request(String)
    }

    public var verb: KubeVerb
    public var path: String
    public var failure: Failure
    /// How many times the request was sent (retries included).
    public var attempts: Int

    public init(verb: KubeVerb, path: String, failure: Failure, attempts: Int = 1) {
        self.verb = verb
        self.path = path
        self.failure = failure
        self.attempts = attempts
    }

    /// The HTTP status, for an answer outside 2xx.
    public var httpStatus: Int? {
        if case .status(let code, _, _) = failure { return code }
        return nil
    }

    /// The Status object's reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...).
    public var reason: String? {
        if case .status(_, let reason, _) = failure { return reason }
        return nil
    }

    /// The Status object's message, or curl's text for a transport error.
    public var message: String? {
        switch failure {
        case .status(_, _, let message): message
        case .transport(_, let text): text
        case .malformedResponse(let text), .request(let text): text
        }
    }

    public var isNotFound: Bool { httpStatus == 404 }
    public var isAlreadyExists: Bool { httpStatus == 409 && reason == "AlreadyExists" }
    /// A write lost a resourceVersion race: read again and retry the change.
    public var isConflict: Bool { httpStatus == 409 && reason != "AlreadyExists" }
    /// The resourceVersion or continue token is too old: list again.
    public var isGone: Bool { httpStatus == 410 }

    public var description: String {
        let retried = attempts > 1 ? " (after \(attempts) attempts)" : ""
        switch failure {
        case .status(let code, let reason, let message):
            let detail = [reason, message].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return "\(verb) \(path): HTTP \(code)\(detail.isEmpty ? "" : " " + detail)\(retried)"
        case .transport(let code, let text):
            return "\(verb) \(path): \(text) (curl error \(code))\(retried)"
        case .malformedResponse(let text):
            return "\(verb) \(path): unexpected response: \(text)"
        case .request(let text):
            return "\(verb) \(path): \(text)"
        }
    }
}

/// The Kubernetes API verbs the client speaks, as audit logs and RBAC rules name them.
public enum KubeVerb: String, Sendable, CustomStringConvertible {
    case get, list, watch, create, update, patch, delete

    var httpMethod: String {
        switch self {
        case .get, .list, .watch: "GET"
        case .create: "POST"
        case .update: "PUT"
        case .patch: "PATCH"
        case .delete: "DELETE"
        }
    }

    public var description: String { rawValue }
}

/// A configuration that cannot be used: which file (or environment) and why.
public struct KubeConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kubeconfig or serviceaccount file, or "in-cluster environment".
    public var source: String
    public var reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}
