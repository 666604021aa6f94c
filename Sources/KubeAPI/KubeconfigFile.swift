import JSONValue
import SystemSupport

extension KubeConfig {
    /// The configuration of a kubeconfig file's context (`context`, or the file's
    /// `current-context`): its cluster's server and CA, its user's token or client
    /// certificate, its namespace. Relative paths in the file are relative to its
    /// directory, as kubectl reads them.
    public static func kubeconfig(at path: String, context: String? = nil) throws(KubeConfigError) -> KubeConfig {
        let bytes = try readKubeFile(path)
        let directory = path.deletingLastPathComponent
        return try kubeconfig(parsing: bytes, source: path, relativeTo: directory.isEmpty ? "." : directory, context: context)
    }

    /// `kubeconfig(at:)` for a document already read. `source` names it in errors.
    public static func kubeconfig(parsing bytes: [UInt8], source: String, relativeTo directory: String,
                                  context: String? = nil) throws(KubeConfigError) -> KubeConfig {
        let document = try parseKubeconfigDocument(bytes, source: source)
        let reader = KubeconfigReader(source: source, directory: directory)
        return try reader.config(document, context: context)
    }
}

/// JSON when the document starts with `{` (`kubectl config view --raw -o json`),
/// otherwise the block YAML kubectl writes.
func parseKubeconfigDocument(_ bytes: [UInt8], source: String) throws(KubeConfigError) -> JSON {
    guard let text = String(validating: bytes, as: UTF8.self) else {
        throw KubeConfigError(source: source, reason: "not UTF-8 text")
    }
    if text.trimmingWhitespace.first == "{" {
        do throws(JSONSyntaxError) {
            return try JSON.parse(bytes)
        } catch {
            throw KubeConfigError(source: source, reason: error.description)
        }
    }
    do throws(KubeconfigYAMLError) {
        return try KubeconfigYAML.parse(text)
    } catch {
        throw KubeConfigError(source: source, reason: error.description)
    }
}

/// kubeconfig's schema (k8s.io/client-go/tools/clientcmd/api/v1 types.go): named
/// contexts, clusters and users, in lists of `{name, <kind>}`.
struct KubeconfigReader {
    let source: String
    let directory: String

    func fail(_ reason: String) -> KubeConfigError { KubeConfigError(source: source, reason: reason) }

    func config(_ document: JSON, context requested: String?) throws(KubeConfigError) -> KubeConfig {
        guard case .object = document else { throw fail("the document is a \(document.typeName), not a mapping") }
        let contextName: String
        if let requested {
            contextName = requested
        } else {
            guard let current = try string(document, "current-context", at: "current-context"), !current.isEmpty else {
                throw fail("no current-context is set and no context was chosen")
            }
            contextName = current
        }
        let context = try named("contexts", "context", contextName, in: document)
        guard let clusterName = try string(context, "cluster", at: "context \"\(contextName)\""), !clusterName.isEmpty else {
            throw fail("context \"\(contextName)\" names no cluster")
        }
        let cluster = try named("clusters", "cluster", clusterName, in: document)
        var config = try clusterConfig(cluster, name: clusterName)
        if let userName = try string(context, "user", at: "context \"\(contextName)\""), !userName.isEmpty {
            let user = try named("users", "user", userName, in: document)
            try applyUser(user, name: userName, to: &config)
        }
        if let namespace = try string(context, "namespace", at: "context \"\(contextName)\""), !namespace.isEmpty {
            config.namespace = namespace
        }
        return config
    }

    /// The `kind` member of the entry called `name` in the list `list`.
    func named(_ list: String, _ kind: String, _ name: String, in document: JSON) throws(KubeConfigError) -> JSON {
        let entries: [JSON]
        switch document[list] {
        case .array(let array)?: entries = array
        case nil, .null?: entries = []
        case let other?: throw fail("\(list) is a \(other.typeName), not a list")
        }
        guard let entry = entries.last(where: { $0["name"]?.stringValue == name }) else {
            let names = entries.compactMap { $0["name"]?.stringValue }
            let known = names.isEmpty ? "it has none" : "it has " + names.map { "\"\($0)\"" }.joined(separator: ", ")
            throw fail("\(kind) \"\(name)\" is not in \(list) (\(known))")
        }
        switch entry[kind] {
        case .object?: return entry[kind]!
        case nil, .null?: return .object([])
        case let other?: throw fail("\(list) \"\(name)\": \(kind) is a \(other.typeName), not a mapping")
        }
    }

    func string(_ object: JSON, _ key: String, at place: String) throws(KubeConfigError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw fail("\(place): \(key) is a \(other.typeName), not a string")
        }
    }

    func path(_ value: String) -> String {
        value.hasPrefix("/") ? value : directory + "/" + value
    }

    func base64(_ object: JSON, _ key: String, at place: String) throws(KubeConfigError) -> [UInt8]? {
        guard let text = try string(object, key, at: place), !text.isEmpty else { return nil }
        guard let bytes = base64Decoded(text) else { throw fail("\(place): \(key) is not base64") }
        return bytes
    }

    func clusterConfig(_ cluster: JSON, name: String) throws(KubeConfigError) -> KubeConfig {
        let place = "cluster \"\(name)\""
        for unsupported in ["tls-server-name", "proxy-url"] where cluster[unsupported] != nil {
            throw fail("\(place): \(unsupported) is not supported")
        }
        guard var server = try string(cluster, "server", at: place), !server.isEmpty else {
            throw fail("\(place) has no server")
        }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw fail("\(place): server \"\(server)\" is not an https:// or http:// URL")
        }
        while server.hasSuffix("/") { server.removeLast() }

        let insecure: Bool
        switch cluster["insecure-skip-tls-verify"] {
        case nil, .null?: insecure = false
        case .bool(let value)?: insecure = value
        case let other?: throw fail("\(place): insecure-skip-tls-verify is a \(other.typeName), not a boolean")
        }
        let data = try base64(cluster, "certificate-authority-data", at: place)
        let file = try string(cluster, "certificate-authority", at: place).flatMap { $0.isEmpty ? nil : path($0) }
        let trust: KubeConfig.ServerTrust
        // client-go: the data wins over the file; either with insecure is refused.
        switch (data, file, insecure) {
        case (.some, _, true), (_, .some, true):
            throw fail("\(place): a certificate authority and insecure-skip-tls-verify together are not allowed")
        case (let data?, _, false): trust = .certificateAuthorityData(data)
        case (nil, let file?, false): trust = .certificateAuthorityFile(file)
        case (nil, nil, true): trust = .insecureSkipVerify
        case (nil, nil, false): trust = .systemRoots
        }
        return KubeConfig(server: server, trust: trust)
    }

    func applyUser(_ user: JSON, name: String, to config: inout KubeConfig) throws(KubeConfigError) {
        let place = "user \"\(name)\""
        for (key, what) in [("exec", "exec credential plugins"), ("auth-provider", "auth providers"),
                            ("username", "basic authentication"), ("password", "basic authentication")]
            where user[key] != nil && user[key] != .null {
            throw fail("\(place): \(key) is set, and \(what) are not supported; use a token or a client certificate")
        }
        if let token = try string(user, "token", at: place), !token.isEmpty {
            config.bearerToken = .value(token)
        } else if let tokenFile = try string(user, "tokenFile", at: place), !tokenFile.isEmpty {
            config.bearerToken = .file(path(tokenFile))
        }
        func source(_ dataKey: String, _ fileKey: String) throws(KubeConfigError) -> KubeConfig.PEMSource? {
            if let data = try base64(user, dataKey, at: place) { return .data(data) }
            if let file = try string(user, fileKey, at: place), !file.isEmpty { return .file(path(file)) }
            return nil
        }
        let certificate = try source("client-certificate-data", "client-certificate")
        let key = try source("client-key-data", "client-key")
        switch (certificate, key) {
        case (let certificate?, let key?):
            config.clientCertificate = KubeConfig.ClientCertificate(certificate: certificate, key: key)
        case (.some, nil): throw fail("\(place) has a client certificate but no client key")
        case (nil, .some): throw fail("\(place) has a client key but no client certificate")
        case (nil, nil): break
        }
    }
}
