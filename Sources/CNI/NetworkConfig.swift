import JSONValue

/// The network configuration a runtime passes on stdin (SPEC §1, §3): the fields every
/// plugin shares, the parsed document for plugin-specific fields, and the exact bytes
/// for delegating to IPAM.
public struct NetworkConfig: Sendable {
    /// stdin as received: delegates get exactly this (SPEC §4).
    public let raw: [UInt8]
    public let json: JSON
    public let cniVersion: CNIVersion
    /// `cniVersion` as written, echoed in results and errors.
    public let cniVersionText: String
    public let name: String
    public let type: String
    /// `ipam.type`, nil when the config has no IPAM.
    public let ipamType: String?
    /// The config's `dns`, used when IPAM returns none.
    public let dns: CNIResult.DNS?
    /// `prevResult`, parsed (CHECK, and ADD in a chain).
    public let prevResult: CNIResult?
    public var runtimeConfig: JSON? { json["runtimeConfig"] }

    /// Parses stdin. Undecodable input is error 6, invalid shared fields error 7, and a
    /// `cniVersion` this plugin does not serve error 1.
    public static func parse(_ bytes: [UInt8]) throws(CNIError) -> NetworkConfig {
        try parse(bytes, parsed: Result { () throws(JSONSyntaxError) in try JSON.parse(bytes) })
    }

    /// `bytes` as `parsed` already is, so that the skeleton parses stdin once.
    static func parse(_ bytes: [UInt8], parsed: Result<JSON, JSONSyntaxError>) throws(CNIError) -> NetworkConfig {
        let json: JSON
        do {
            json = try parsed.get()
        } catch {
            throw CNIError(.decodingFailure, "error decoding network config", details: error.description)
        }
        guard json.objectValue != nil else {
            throw CNIError(.decodingFailure, "network config is not a JSON object", details: json.typeName)
        }
        let versionText: String
        switch json["cniVersion"] {
        case nil, .null?: versionText = CNIVersion.implied.description
        case .string(let text)?: versionText = text
        case let other?: throw CNIError(.decodingFailure, "cniVersion is not a string", details: other.serialized)
        }
        guard let version = CNIVersion(versionText) else {
            throw CNIError(.decodingFailure, "cniVersion \(versionText) is not a version", details: "expected MAJOR.MINOR.PATCH")
        }
        guard CNIVersion.supported.contains(version) else {
            throw CNIError(.incompatibleVersion,
                           "incompatible CNI versions; config is \"\(versionText)\", plugin supports [\(CNIVersion.supported.map { "\"\($0)\"" }.joined(separator: " "))]")
        }
        guard let name = json["name"]?.stringValue, !name.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "network config has no name")
        }
        if let problem = CNIIdentifier.networkNameProblem(name) {
            throw CNIError(.invalidNetworkConfig, problem)
        }
        guard let type = json["type"]?.stringValue, !type.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "network config has no type")
        }
        var ipamType: String?
        if let ipam = json["ipam"], !ipam.isNull {
            guard ipam.objectValue != nil else {
                throw CNIError(.invalidNetworkConfig, "ipam is not an object", details: ipam.serialized)
            }
            // An empty ipam object (or an empty type) means no IPAM, as in sriov-cni.
            if let value = ipam["type"], !value.isNull {
                guard let text = value.stringValue else {
                    throw CNIError(.invalidNetworkConfig, "ipam.type is not a string", details: value.serialized)
                }
                if !text.isEmpty {
                    guard !text.contains("/") else {
                        throw CNIError(.invalidNetworkConfig, "ipam.type \(text) must be a plugin name, not a path")
                    }
                    ipamType = text
                }
            }
        }
        var dns: CNIResult.DNS?
        if let value = json["dns"], !value.isNull {
            do { dns = try CNIResult.DNS(json: value) } catch {
                throw CNIError(.invalidNetworkConfig, error.message, details: error.details)
            }
        }
        var prevResult: CNIResult?
        if let value = json["prevResult"], !value.isNull {
            do { prevResult = try CNIResult(json: value) } catch {
                throw CNIError(.decodingFailure, "prevResult: \(error.message)", details: error.details)
            }
        }
        return NetworkConfig(raw: bytes, json: json, cniVersion: version, cniVersionText: versionText, name: name,
                             type: type, ipamType: ipamType, dns: dns, prevResult: prevResult)
    }
}
