#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import JSONValue

/// A delegated plugin, IPAM in practice (SPEC §4): found by type in CNI_PATH, called
/// with the caller's environment (only CNI_COMMAND changed) and the complete network
/// config on stdin; its result comes back in the config's version.
public struct PluginDelegate: Sendable {
    public let type: String
    public let executable: String
    let environment: [String: String]

    /// Finds `type` in `environment.path`. A missing plugin is a config error (7).
    public init(type: String, environment: CNIEnvironment) throws(CNIError) {
        guard !type.isEmpty, !type.contains("/") else {
            throw CNIError(.invalidNetworkConfig, "plugin type \(type) must be a name, not a path")
        }
        guard let found = environment.path.lazy.map({ $0 + "/" + type }).first(where: { access($0, X_OK) == 0 }) else {
            throw CNIError(.invalidNetworkConfig, "failed to find plugin \"\(type)\" in path [\(environment.path.joined(separator: " "))]")
        }
        self.type = type
        executable = found
        self.environment = environment.variables
    }

    /// Delegated ADD; the reply is parsed as a result (any served version).
    public func add(_ config: NetworkConfig) throws(CNIError) -> CNIResult {
        let output = try call(.add, stdin: config.raw)
        let json: JSON
        do { json = try JSON.parse(output) } catch {
            throw CNIError(.ipamFailed, "\(type) ADD printed no JSON result", details: error.description)
        }
        do { return try CNIResult(json: json) } catch {
            throw CNIError(.ipamFailed, "\(type) ADD returned an unusable result: \(error.message)", details: error.details)
        }
    }

    public func delete(_ config: NetworkConfig) throws(CNIError) { _ = try call(.del, stdin: config.raw) }

    public func check(_ config: NetworkConfig) throws(CNIError) { _ = try call(.check, stdin: config.raw) }

    public func status(_ config: NetworkConfig) throws(CNIError) { _ = try call(.status, stdin: config.raw) }

    public func garbageCollect(_ config: NetworkConfig) throws(CNIError) { _ = try call(.gc, stdin: config.raw) }

    /// The versions the delegate serves (VERSION), so that CHECK, STATUS and GC go
    /// only to delegates that know them.
    public func supportedVersions(asking version: String) throws(CNIError) -> [CNIVersion] {
        let output = try call(.version, stdin: Array("{\"cniVersion\":\"\(version)\"}".utf8))
        guard let json = try? JSON.parse(output), let list = json["supportedVersions"]?.arrayValue else {
            throw CNIError(.ipamFailed, "\(type) VERSION printed no supportedVersions", details: String(decoding: output, as: UTF8.self))
        }
        return list.compactMap { $0.stringValue.flatMap { CNIVersion($0) } }
    }

    /// Runs the delegate. Its stderr is passed on to ours; on failure its stdout is
    /// read as a CNI error, whose code is kept.
    func call(_ command: CNICommand, stdin: [UInt8]) throws(CNIError) -> [UInt8] {
        var variables = environment
        variables["CNI_COMMAND"] = command.rawValue
        let child: ChildProcess
        do {
            child = try ChildProcess.run(path: executable, arguments: [], environment: variables, stdin: stdin)
        } catch {
            throw CNIError(.ipamFailed, "\(type) \(command.rawValue): cannot \(error.what)", details: String(cString: strerror(error.errno)))
        }
        if !child.stderr.isEmpty {
            _ = child.stderr.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
        guard child.status == 0 else {
            if let json = try? JSON.parse(child.stdout), let code = json["code"]?.intValue, let message = json["msg"]?.stringValue {
                throw CNIError(code: code, message: "\(type) \(command.rawValue): \(message)", details: json["details"]?.stringValue ?? "")
            }
            let text = String(decoding: child.stderr.isEmpty ? child.stdout : child.stderr, as: UTF8.self)
            throw CNIError(.ipamFailed, "\(type) \(command.rawValue) exited with status \(child.status)",
                           details: text.trimmingCharacters(in: " \n\t\r"))
        }
        return child.stdout
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice.removeFirst() }
        while let last = slice.last, characters.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
