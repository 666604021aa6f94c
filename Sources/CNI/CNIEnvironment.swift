/// The CNI command a runtime asked for (CNI_COMMAND).
public enum CNICommand: String, Sendable, CaseIterable {
    case add = "ADD"
    case del = "DEL"
    case check = "CHECK"
    case version = "VERSION"
    case status = "STATUS"
    case gc = "GC"
}

/// The CNI_* environment of one call, validated (SPEC §2 Parameters, with the Go
/// skel's stricter checks).
public struct CNIEnvironment: Sendable {
    public var command: CNICommand
    public var containerID: String
    /// CNI_NETNS; empty for a DEL without one.
    public var netns: String
    public var ifname: String
    /// CNI_ARGS as ordered key/value pairs.
    public var args: [(key: String, value: String)]
    public var path: [String]
    /// The whole process environment, passed on to delegated plugins.
    public var variables: [String: String]

    public func arg(_ key: String) -> String? { args.last { $0.key == key }?.value }

    public init(command: CNICommand, containerID: String = "", netns: String = "", ifname: String = "",
                args: [(key: String, value: String)] = [], path: [String] = [], variables: [String: String] = [:]) {
        self.command = command
        self.containerID = containerID
        self.netns = netns
        self.ifname = ifname
        self.args = args
        self.path = path
        self.variables = variables
    }

    /// Reads and checks the variables `command` needs. A missing or malformed variable
    /// is error 4 and the message names every offending variable.
    public static func parse(_ variables: [String: String]) throws(CNIError) -> CNIEnvironment {
        guard let commandText = variables["CNI_COMMAND"], !commandText.isEmpty else {
            throw CNIError(.invalidEnvironment, "required env variables [CNI_COMMAND] missing")
        }
        guard let command = CNICommand(rawValue: commandText) else {
            throw CNIError(.invalidEnvironment, "unknown CNI_COMMAND: \(commandText)",
                           details: "expected one of \(CNICommand.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let required: [String]
        switch command {
        case .add, .check: required = ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]
        case .del: required = ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"]
        case .gc: required = ["CNI_PATH"]
        case .version, .status: required = []
        }
        let missing = required.filter { (variables[$0] ?? "").isEmpty }
        guard missing.isEmpty else {
            throw CNIError(.invalidEnvironment, "required env variables [\(missing.joined(separator: ","))] missing")
        }
        var environment = CNIEnvironment(command: command, variables: variables)
        environment.containerID = variables["CNI_CONTAINERID"] ?? ""
        environment.netns = variables["CNI_NETNS"] ?? ""
        environment.ifname = variables["CNI_IFNAME"] ?? ""
        environment.path = (variables["CNI_PATH"] ?? "").split(separator: ":").map(String.init)
        var invalid: [String] = []
        var reasons: [String] = []
        if required.contains("CNI_CONTAINERID"), let reason = CNIIdentifier.containerIDProblem(environment.containerID) {
            invalid.append("CNI_CONTAINERID")
            reasons.append(reason)
        }
        if required.contains("CNI_IFNAME"), let reason = InterfaceName.problem(with: environment.ifname) {
            invalid.append("CNI_IFNAME")
            reasons.append(reason)
        }
        if !environment.netns.isEmpty, !environment.netns.hasPrefix("/") {
            invalid.append("CNI_NETNS")
            reasons.append("netns path \(environment.netns) is not absolute")
        }
        do {
            environment.args = try Self.parseArgs(variables["CNI_ARGS"] ?? "")
        } catch {
            invalid.append("CNI_ARGS")
            reasons.append(error.reason)
        }
        guard invalid.isEmpty else {
            throw CNIError(.invalidEnvironment, "invalid env variables [\(invalid.joined(separator: ","))]",
                           details: reasons.joined(separator: "; "))
        }
        return environment
    }

    struct ArgsProblem: Error { var reason: String }

    /// `K=V;K=V`; empty segments are skipped, a segment without `=` is an error.
    static func parseArgs(_ text: String) throws(ArgsProblem) -> [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        for segment in text.split(separator: ";") where !segment.isEmpty {
            guard let equals = segment.firstIndex(of: "="), equals != segment.startIndex else {
                throw ArgsProblem(reason: "CNI_ARGS pair \(segment) is not KEY=VALUE")
            }
            pairs.append((String(segment[..<equals]), String(segment[segment.index(after: equals)...])))
        }
        return pairs
    }
}
