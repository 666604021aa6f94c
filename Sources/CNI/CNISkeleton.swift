import JSONValue
import SystemSupport

/// One CNI call after validation: the environment, the network config and a logger.
public struct CNICall: Sendable {
    public let environment: CNIEnvironment
    public let config: NetworkConfig
    public let logger: CNILogger

    public init(environment: CNIEnvironment, config: NetworkConfig, logger: CNILogger) {
        self.environment = environment
        self.config = config
        self.logger = logger
    }
}

/// What a plugin implements; the skeleton does the CNI protocol around it.
/// Errors report their own code when they are `CNIErrorConvertible`; anything else is
/// reported with code 999.
public protocol CNIPlugin {
    func add(_ call: CNICall) throws -> CNIResult
    func delete(_ call: CNICall) throws
    func check(_ call: CNICall) throws
    func status(_ call: CNICall) throws
    func garbageCollect(_ call: CNICall) throws
}

/// The CNI protocol of one plugin call: environment and stdin in, the result or the
/// error JSON on stdout, an exit status. Version negotiation and the per-command
/// checks follow SPEC §2–§5 and the Go skel (pkg/skel).
public enum CNISkeleton {
    public struct Output: Equatable, Sendable {
        public var stdout: String
        public var exitCode: Int32
    }

    /// The most stdin may hold. A real network config is a few kilobytes, a chained one
    /// with its prevResult some tens; parsing a config this large costs a few tens of
    /// MiB at most.
    public static let configSizeLimit = 1 << 20

    /// Runs the call with the network config read from `input` (stdin). Reading stops
    /// after `configSizeLimit` + 1 bytes: a larger config is error 7, with nothing parsed.
    public static func run(_ plugin: some CNIPlugin, variables: [String: String], input: FileDescriptor) -> Output {
        let stdin: [UInt8]
        switch Result(catching: { () throws(Errno) in try input.readAll(limit: configSizeLimit) }) {
        case .success(let bytes?):
            stdin = bytes
        case .success(nil):
            let error = CNIError(.invalidNetworkConfig, "the network config on stdin is larger than \(configSizeLimit) bytes")
            return Output(stdout: error.json(version: CNIVersion.current.description).prettyPrinted + "\n", exitCode: 1)
        case .failure:
            // The runtime closed stdin early: the command decides whether it needed it.
            stdin = []
        }
        return run(plugin, variables: variables, stdin: stdin)
    }

    public static func run(_ plugin: some CNIPlugin, variables: [String: String], stdin: [UInt8]) -> Output {
        let parsed = Result { () throws(JSONSyntaxError) in try JSON.parse(stdin) }
        // Errors echo the config's version when there is one to echo.
        let echoedVersion = (try? parsed.get())?["cniVersion"]?.stringValue ?? CNIVersion.current.description
        func failure(_ error: CNIError, logger: CNILogger? = nil) -> Output {
            logger?.error(error.description)
            return Output(stdout: error.json(version: echoedVersion).prettyPrinted + "\n", exitCode: 1)
        }

        let environment: CNIEnvironment
        do { environment = try CNIEnvironment.parse(variables) } catch { return failure(error) }

        if environment.command == .version {
            let json = JSON.object([
                ("cniVersion", .string(echoedVersion)),
                ("supportedVersions", .array(CNIVersion.supported.map { .string($0.description) })),
            ])
            return Output(stdout: json.serialized + "\n", exitCode: 0)
        }

        let config: NetworkConfig
        do { config = try NetworkConfig.parse(stdin, parsed: parsed) } catch { return failure(error) }
        let logger: CNILogger
        do {
            logger = try CNILogger.configured(by: config.json)
        } catch {
            // DEL never fails on config that could not have been used for ADD.
            guard environment.command == .del else { return failure(error) }
            logger = CNILogger(level: .info)
            logger.warning("\(error.description); logging to stderr")
        }
        logger.context = [environment.command.rawValue, environment.containerID.isEmpty ? nil : environment.containerID,
                          environment.ifname.isEmpty ? nil : environment.ifname]
            .compactMap { $0 }.joined(separator: " ")

        switch environment.command {
        case .check where config.cniVersion < CNIVersion.firstWithCheck:
            return failure(CNIError(.incompatibleVersion, "config version \(config.cniVersionText) does not allow CHECK"), logger: logger)
        case .status where config.cniVersion < CNIVersion.firstWithStatusAndGC,
             .gc where config.cniVersion < CNIVersion.firstWithStatusAndGC:
            return failure(CNIError(.incompatibleVersion,
                                    "config version \(config.cniVersionText) does not allow \(environment.command.rawValue)"),
                           logger: logger)
        case .add where config.cniVersion < CNIVersion.firstWithIPList && config.ipamType == nil && config.prevResult == nil:
            // libcni can only print such a result with an address in it; sriov-cni finds
            // that out after attaching. Say it before anything is touched.
            return failure(CNIError(.incompatibleVersion,
                                    "a result in the \(config.cniVersionText) format needs an IP address, and this network has no ipam",
                                    details: "set cniVersion to 1.0.0 (or 0.3.1 and later), or add ipam"), logger: logger)
        default:
            break
        }

        let call = CNICall(environment: environment, config: config, logger: logger)
        let started = MonotonicInstant.now
        do {
            var stdout = ""
            switch environment.command {
            case .add:
                let result = try plugin.add(call)
                stdout = result.json(version: config.cniVersion, versionText: config.cniVersionText).prettyPrinted + "\n"
            case .del: try plugin.delete(call)
            case .check: try plugin.check(call)
            case .status: try plugin.status(call)
            case .gc: try plugin.garbageCollect(call)
            case .version: break
            }
            logger.info("done in \(Int((MonotonicInstant.now - started) / .milliseconds(1))) ms")
            return Output(stdout: stdout, exitCode: 0)
        } catch {
            return failure(CNIError(reporting: error), logger: logger)
        }
    }
}
