import JSONValue

/// A Kubernetes API client: JSON over HTTPS (curl picks HTTP/2 or HTTP/1.1), with the
/// configuration's token or client certificate, retries of what is worth retrying,
/// and errors that carry the server's Status. Calls block; any number of threads may
/// call at once (each request takes a curl handle of its own from a small pool, whose
/// connections stay open for the next).
///
/// Paths are the API's own: `/api/v1/namespaces/default/configmaps/x`,
/// `/apis/resource.k8s.io/v1/resourceslices`.
public final class KubeClient: Sendable {
    public struct Options: Sendable {
        /// `sriov-rdma-dp/<version>`.
        public var userAgent: String
        public var connectTimeout: Duration = .seconds(10)
        /// The limit of every request but a watch.
        public var requestTimeout: Duration = .seconds(60)
        public var retry = RetryPolicy()
        /// Items a `list` asks for per page (`limit`).
        public var pageSize = 500
        /// A larger response body is refused rather than held in memory.
        public var maximumResponseSize = 64 << 20
        /// Idle curl handles kept, each with its open connection.
        public var pooledHandles = 4

        public init(version: String) {
            userAgent = "sriov-rdma-dp/\(version)"
        }
    }

    /// How a patch's body is to be read (its Content-Type).
    public enum PatchType: Sendable, Equatable {
        /// RFC 7386 JSON merge patch.
        case merge
        /// Kubernetes' strategic merge patch (lists merged by their keys).
        case strategicMerge
        /// RFC 6902 JSON patch: a list of operations.
        case json
        /// Server-side apply: the body is the whole intent of `fieldManager`; `force`
        /// takes over fields another manager owns.
        case apply(fieldManager: String, force: Bool)

        var contentType: String {
            switch self {
            case .merge: "application/merge-patch+json"
            case .strategicMerge: "application/strategic-merge-patch+json"
            case .json: "application/json-patch+json"
            case .apply: "application/apply-patch+yaml"  // JSON is YAML
            }
        }
    }

    public let config: KubeConfig
    let options: Options
    let settings: ConnectionSettings
    let tokenFile: BearerTokenFile?
    let pool: CurlHandlePool

    public init(config: KubeConfig, options: Options) {
        self.config = config
        self.options = options
        settings = ConnectionSettings(trust: config.trust, clientCertificate: config.clientCertificate,
                                      userAgent: options.userAgent, connectTimeout: options.connectTimeout)
        if case .file(let path) = config.bearerToken {
            tokenFile = BearerTokenFile(path: path)
        } else {
            tokenFile = nil
        }
        pool = CurlHandlePool(capacity: options.pooledHandles)
    }

    /// The object at `path`.
    public func get(_ path: String) throws(KubeAPIError) -> JSON {
        try send(.get, path, idempotent: true)
    }

    /// Every item of the collection at `path`, page by page (`limit`, `continue`), and
    /// the list's resourceVersion, from which a watch continues. A continue token that
    /// expired midway (410 Gone) is an error: list again.
    public func list(_ path: String, labelSelector: String? = nil,
                     fieldSelector: String? = nil) throws(KubeAPIError) -> (items: [JSON], resourceVersion: String) {
        var items: [JSON] = []
        var resourceVersion = ""
        var continueToken: String?
        repeat {
            var query = [("limit", String(options.pageSize))]
            if let labelSelector { query.append(("labelSelector", labelSelector)) }
            if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
            if let continueToken { query.append(("continue", continueToken)) }
            let page = try send(.list, path, query: query, idempotent: true)
            switch page["items"] {
            case .array(let pageItems)?: items += pageItems
            case nil, .null?: break
            case let other?:
                throw KubeAPIError(verb: .list, path: path, failure: .malformedResponse("items is a \(other.typeName), not a list"))
            }
            resourceVersion = page["metadata"]?["resourceVersion"]?.stringValue ?? resourceVersion
            continueToken = page["metadata"]?["continue"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } while continueToken != nil
        return (items, resourceVersion)
    }

    /// POSTs `body` to the collection at `path`; the object as created.
    public func create(_ path: String, _ body: JSON) throws(KubeAPIError) -> JSON {
        // Not idempotent: a request that may have arrived is not sent twice by us. (curl
        // itself resends once when a kept-alive connection turns out closed before any
        // answer byte; a second create then meets AlreadyExists, which callers handle.)
        try send(.create, path, body: body, idempotent: false)
    }

    /// PUTs `body` over the object at `path` (its metadata.resourceVersion, when set,
    /// makes a stale write a 409 Conflict). For `/status`, the status only.
    public func update(_ path: String, _ body: JSON) throws(KubeAPIError) -> JSON {
        try send(.update, path, body: body, idempotent: true)
    }

    public func patch(_ path: String, _ body: JSON, type: PatchType) throws(KubeAPIError) -> JSON {
        var query: [(String, String)] = []
        if case .apply(let fieldManager, let force) = type {
            query.append(("fieldManager", fieldManager))
            if force { query.append(("force", "true")) }
        }
        // A JSON patch's "add" to a list adds twice when sent twice.
        return try send(.patch, path, query: query, body: body, contentType: type.contentType, idempotent: type != .json)
    }

    /// Deletes the object at `path`, with `options` as the DeleteOptions body when given
    /// (propagationPolicy, preconditions). What the server answers: the object (still
    /// there while finalizers run) or a Status; nil when it was already gone and
    /// `notFoundIsError` is false.
    @discardableResult
    public func delete(_ path: String, options: JSON? = nil, notFoundIsError: Bool = false) throws(KubeAPIError) -> JSON? {
        do throws(KubeAPIError) {
            return try send(.delete, path, body: options, idempotent: true)
        } catch where error.isNotFound && !notFoundIsError {
            return nil
        }
    }
}
