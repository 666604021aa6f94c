import Foundation

/// Runs a host tool (`ip`, a CNI plugin) for a test and returns its output.
public struct ToolResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum Tool {
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], stdin: String? = nil,
                           environment: [String: String]? = nil) throws -> ToolResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty stderr cannot block the child.
        let errorData = LockedData()
        let reader = Thread { errorData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(1000) }
        return ToolResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errorData.get(), as: UTF8.self))
    }

    /// `ip ARGS`, failing the caller when it exits non-zero.
    @discardableResult
    public static func ip(_ arguments: String...) throws -> String {
        let result = try run("/usr/sbin/ip", arguments)
        guard result.status == 0 else { throw ToolError(message: "ip \(arguments.joined(separator: " ")): \(result.stderr)") }
        return result.stdout
    }
}

public struct ToolError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data ?? Data() }
}

/// A named network namespace (`ip netns add`) for one test, deleted by `remove()`.
/// Names carry the process id so parallel test runs by other people never collide.
public final class ScratchNamespace: @unchecked Sendable {
    public let name: String
    public var path: String { "/var/run/netns/\(name)" }
    private var removed = false

    nonisolated(unsafe) private static var counter = 0
    private static let counterLock = NSLock()

    public init(_ label: String) throws {
        Self.counterLock.lock()
        Self.counter += 1
        let number = Self.counter
        Self.counterLock.unlock()
        name = "srt\(getpid())-\(label)\(number)"
        try Tool.ip("netns", "add", name)
    }

    /// `ip -n NAME ARGS`.
    @discardableResult
    public func ip(_ arguments: String...) throws -> String {
        let result = try Tool.run("/usr/sbin/ip", ["-n", name] + arguments)
        guard result.status == 0 else {
            throw ToolError(message: "ip -n \(name) \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        return result.stdout
    }

    /// Everything a CNI call could change in this namespace, as text to compare:
    /// links with details (name, MAC, MTU, flags, alias, altnames), addresses, routes.
    public func snapshot() throws -> String {
        let links = try ip("-d", "-o", "link", "show")
            .split(separator: "\n")
            .map { line in
                // Counters and ifindex-independent: drop the leading "N: " index.
                String(line.drop { $0 != ":" }.dropFirst(2))
            }
            .sorted()
            .joined(separator: "\n")
        let addresses = try ip("-o", "addr", "show").split(separator: "\n").map {
            String($0.drop { $0 != ":" }.dropFirst(2))
        }.sorted().joined(separator: "\n")
        let routes = try ip("route", "show", "table", "all")
        return "links:\n\(links)\naddresses:\n\(addresses)\nroutes:\n\(routes)"
    }

    public func remove() {
        guard !removed else { return }
        removed = true
        _ = try? Tool.run("/usr/sbin/ip", ["netns", "del", name])
    }

    deinit { remove() }
}

/// The named namespaces that exist now (`ip netns list`), to check a test left none behind.
public func namedNamespaces() throws -> Set<String> {
    Set(try Tool.ip("netns", "list").split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
}

/// Polls `condition` until it holds or `seconds` pass. Tests never sleep for a fixed time.
public func waitUntil(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(5_000)
    }
    return try condition()
}
