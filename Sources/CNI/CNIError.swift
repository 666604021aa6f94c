import JSONValue

/// An error as the CNI spec reports it (SPEC §5 Error): a code, a message and details.
/// The plugin prints it as JSON on stdout and exits non-zero.
public struct CNIError: Error, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var details: String

    public init(_ code: Code, _ message: String, details: String = "") {
        self.init(code: code.rawValue, message: message, details: details)
    }

    public init(code: Int, message: String, details: String = "") {
        self.code = code
        self.message = message
        self.details = details
    }

    /// Well-known codes (SPEC "Well-known Error Codes"); 100 and up are this plugin's.
    public enum Code: Int, Sendable {
        case incompatibleVersion = 1
        case unsupportedField = 2
        case unknownContainer = 3
        case invalidEnvironment = 4
        case ioFailure = 5
        case decodingFailure = 6
        case invalidNetworkConfig = 7
        case invalidNetns = 8
        case tryAgainLater = 11
        case pluginNotAvailable = 50
        case limitedConnectivity = 51
        /// The VF is allocated to another container.
        case deviceBusy = 100
        /// The kernel refused a change (netlink), or a device is missing.
        case deviceOperationFailed = 101
        /// The IPAM plugin failed or returned something unusable.
        case ipamFailed = 102
        /// RDMA isolation cannot be provided (shared netns mode, device cannot move).
        case rdmaIsolationFailed = 103
        /// The interface, its addresses or routes are not as ADD left them (CHECK).
        case checkFailed = 104
        /// A state file cannot be written or read.
        case stateFailed = 105
    }

    public var description: String {
        details.isEmpty ? "\(message) (code \(code))" : "\(message): \(details) (code \(code))"
    }

    /// `{"cniVersion":..., "code":..., "msg":..., "details":...}`.
    public func json(version: String) -> JSON {
        var members: [(String, JSON)] = [("cniVersion", .string(version)), ("code", JSON(code)), ("msg", .string(message))]
        if !details.isEmpty { members.append(("details", .string(details))) }
        return .object(members)
    }
}
