#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the API server is and how to prove who we are to it: from the pod's
/// ServiceAccount (`inCluster`) or from a kubeconfig file (`kubeconfig(at:)`).
public struct KubeConfig: Sendable, Equatable {
    /// The server's base URL, `https://host:port`, without a trailing slash.
    public var server: String
    public var trust: ServerTrust
    public var bearerToken: BearerToken?
    public var clientCertificate: ClientCertificate?
    /// The namespace the pod runs in (in-cluster) or the context's namespace.
    public var namespace: String?

    public init(server: String, trust: ServerTrust, bearerToken: BearerToken? = nil,
                clientCertificate: ClientCertificate? = nil, namespace: String? = nil) {
        self.server = server
        self.trust = trust
        self.bearerToken = bearerToken
        self.clientCertificate = clientCertificate
        self.namespace = namespace
    }

    /// How the server's certificate is checked.
    public enum ServerTrust: Sendable, Equatable {
        /// Only certificates issued by the CA(s) in this PEM file.
        case certificateAuthorityFile(String)
        /// Only certificates issued by the CA(s) in these PEM bytes (kept in memory).
        case certificateAuthorityData([UInt8])
        /// The system's CA bundle.
        case systemRoots
        /// No check at all (kubeconfig `insecure-skip-tls-verify: true`).
        case insecureSkipVerify
    }

    public enum BearerToken: Sendable, Equatable {
        case value(String)
        /// Read from the file, and read again when it changes, at least every minute and
        /// after a 401: projected ServiceAccount tokens rotate.
        case file(String)
    }

    /// A client certificate and its private key, each a PEM file or PEM bytes.
    public struct ClientCertificate: Sendable, Equatable {
        public var certificate: PEMSource
        public var key: PEMSource

        public init(certificate: PEMSource, key: PEMSource) {
            self.certificate = certificate
            self.key = key
        }
    }

    public enum PEMSource: Sendable, Equatable {
        case file(String)
        /// Handed to curl as a blob: nothing is written to disk.
        case data([UInt8])
    }
}

// MARK: - In-cluster

extension KubeConfig {
    /// Where the kubelet mounts a pod's ServiceAccount token, CA and namespace.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The configuration of a pod: the API server's Service from KUBERNETES_SERVICE_HOST
    /// and KUBERNETES_SERVICE_PORT, the token, `ca.crt` and `namespace` from
    /// `serviceAccountDirectory`. `environment` replaces the process's for tests.
    public static func inCluster(serviceAccountDirectory: String = serviceAccountDirectory,
                                 environment: [String: String]? = nil) throws(KubeConfigError) -> KubeConfig {
        func variable(_ name: String) -> String? {
            if let environment { return environment[name] }
            return getenv(name).map { String(cString: $0) }
        }
        let source = "in-cluster configuration"
        guard let host = variable("KUBERNETES_SERVICE_HOST"), !host.isEmpty,
              let port = variable("KUBERNETES_SERVICE_PORT"), !port.isEmpty else {
            throw KubeConfigError(source: source, reason: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (is this running in a pod?)")
        }
        guard let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw KubeConfigError(source: source, reason: "KUBERNETES_SERVICE_PORT \"\(port)\" is not a port number")
        }
        // RFC 3986 §3.2.2: an IPv6 literal goes in brackets.
        let authority = host.contains(":") ? "[\(host)]:\(portNumber)" : "\(host):\(portNumber)"

        let tokenPath = serviceAccountDirectory + "/token"
        let caPath = serviceAccountDirectory + "/ca.crt"
        // Both must be readable now: a pod without its token fails at start, not at the
        // first request.
        _ = try BearerTokenFile(path: tokenPath).readToken()
        guard access(caPath, R_OK) == 0 else {
            throw KubeConfigError(source: caPath, reason: "cannot be read: \(String(cString: strerror(errno)))")
        }
        var namespace: String?
        if let bytes = try? readKubeFile(serviceAccountDirectory + "/namespace") {
            let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
            namespace = text.isEmpty ? nil : text
        }
        return KubeConfig(server: "https://" + authority, trust: .certificateAuthorityFile(caPath),
                          bearerToken: .file(tokenPath), namespace: namespace)
    }
}

extension String {
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
