#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import JSONValue
import SystemSupport

/// Log lines for people: to stderr (which runtimes pass on to their own logs) or to
/// the config's `logFile`, never to stdout, which carries the result. The fields
/// `logLevel` (error, warning, info, debug) and `logFile` are sriov-cni's.
public final class CNILogger: @unchecked Sendable {
    public enum Level: Int, Comparable, Sendable {
        case error = 0, warning, info, debug

        public init?(_ text: String) {
            switch text.lowercased() {
            case "error", "panic": self = .error
            case "warning", "warn": self = .warning
            case "info": self = .info
            case "debug": self = .debug
            default: return nil
            }
        }

        var label: String {
            switch self {
            case .error: "error"
            case .warning: "warning"
            case .info: "info"
            case .debug: "debug"
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public let level: Level
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// Prepended to every line: "ADD 1f2e.../net1".
    public var context = ""

    public init(level: Level = .info, descriptor: Int32 = 2, ownsDescriptor: Bool = false) {
        self.level = level
        self.descriptor = descriptor
        self.ownsDescriptor = ownsDescriptor
    }

    deinit { if ownsDescriptor { close(descriptor) } }

    /// A logger as the config asks for, an unknown `logLevel` meaning info. `logFile`
    /// must be an absolute path (a relative one would land wherever the runtime runs
    /// the plugin) to a regular file, created with mode 0600 when missing, that is not
    /// the plugin's stdout (which carries the result) or stderr. A FIFO, a device or a
    /// directory is refused without being opened. A refusal is error 7; a file the
    /// system will not open (a missing directory, a read-only file system) falls back
    /// to stderr with a warning.
    public static func configured(by config: JSON?) throws(CNIError) -> CNILogger {
        let level = config?["logLevel"]?.stringValue.flatMap(Level.init) ?? .info
        guard let path = config?["logFile"]?.stringValue, !path.isEmpty else { return CNILogger(level: level) }
        func refuse(_ why: String) -> CNIError {
            CNIError(.invalidNetworkConfig, "invalid logFile \(JSON.string(path).serialized): \(why)")
        }
        guard path.hasPrefix("/") else { throw refuse("must be an absolute path") }
        let file: FileDescriptor
        let status: FileStatus
        do throws(FileCheckError) {
            (file, status) = try FileDescriptor.openChecked(path, O_WRONLY | O_APPEND, expecting: .regular, creatingWith: 0o600)
        } catch {
            guard error.errno != nil else { throw refuse("\(error.problem)") }
            let logger = CNILogger(level: level)
            logger.warning("cannot use logFile: \(error); logging to stderr")
            return logger
        }
        for (stream, name) in [(FileDescriptor.standardOutput, "standard output"), (.standardError, "standard error")] {
            if let streamStatus = try? stream.status(), streamStatus.isSameFile(as: status) {
                file.close()
                throw refuse("is the plugin's \(name)")
            }
        }
        return CNILogger(level: level, descriptor: file.rawValue, ownsDescriptor: true)
    }

    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }

    public func log(_ messageLevel: Level, _ message: @autoclosure () -> String) {
        guard messageLevel <= level else { return }
        let line = "\(Self.timestamp()) [\(messageLevel.label)] sriov-rdma-cni\(context.isEmpty ? "" : " " + context): \(message())\n"
        // One write(2) per line, so lines of concurrent plugin calls do not interleave.
        _ = line.utf8CString.withUnsafeBufferPointer { write(descriptor, $0.baseAddress, $0.count - 1) }
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let days = Int(now.tv_sec).floorDivided(by: 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let secondOfDay = Int(now.tv_sec) - days * 86_400
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = now.tv_nsec / 1_000_000
        let millisText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)).\(millisText)Z"
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
    /// civil_from_days). Computed here rather than by gmtime_r, whose first call reads
    /// /etc/localtime (glibc initialises the time zone even for UTC): six system calls
    /// in every CNI call for nothing.
    static func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = shifted.floorDivided(by: 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int {
    /// Division rounding toward negative infinity.
    func floorDivided(by divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
