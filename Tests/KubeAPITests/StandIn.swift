import Foundation
import JSONValue
import KubeAPI
import TestSupport

/// A CA, a server certificate for 127.0.0.1 and a client certificate it issued, and a
/// second CA that issued nothing we serve: made with the openssl CLI for each test, in a
/// directory removed with this object.
final class TestCertificates {
    let scratch: ScratchDirectory
    var directory: String { scratch.path }
    var caCertificate: String { directory + "/ca.crt" }
    var serverCertificate: String { directory + "/server.crt" }
    var serverKey: String { directory + "/server.key" }
    var clientCertificate: String { directory + "/client.crt" }
    var clientKey: String { directory + "/client.key" }
    var otherCACertificate: String { directory + "/other-ca.crt" }

    init() throws {
        scratch = try ScratchDirectory("kubeapi-certs")
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=standin-ca"])
        try openssl(["req", "-x509"] + ec + ["-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "2", "-subj", "/CN=other-ca"])
        try issue("server", subject: "/CN=127.0.0.1", extensions: "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        try issue("client", subject: "/CN=kubeapi-test-client", extensions: "extendedKeyUsage=clientAuth\n")
    }

    private func issue(_ name: String, subject: String, extensions: String) throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(["req", "-new"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
        try extensions.write(toFile: directory + "/\(name).ext", atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext"])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw StandInError("openssl \(arguments.joined(separator: " ")): \(String(decoding: text, as: UTF8.self))")
        }
    }

    func contents(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
}

struct StandInError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Tests/KubeAPITests/apiserver_standin.py, running for one test: its port, and a
/// client of its control endpoints (which need no credentials).
final class StandIn {
    let certificates: TestCertificates
    let process: Process
    let port: Int
    let control: KubeClient

    var server: String { "https://127.0.0.1:\(port)" }

    init(tokens: [String] = ["test-token"]) throws {
        certificates = try TestCertificates()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("apiserver_standin.py")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--cert", certificates.serverCertificate, "--key", certificates.serverKey,
                             "--client-ca", certificates.caCertificate] + tokens.flatMap { ["--token", $0] }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let piece = output.fileHandleForReading.availableData
            guard !piece.isEmpty else { throw StandInError("the stand-in ended before printing its port") }
            line += piece
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw StandInError("the stand-in printed \(String(decoding: line, as: UTF8.self))")
        }
        self.port = port
        var options = KubeClient.Options(version: "control")
        options.retry = .none
        control = KubeClient(config: KubeConfig(server: "https://127.0.0.1:\(port)", trust: .certificateAuthorityFile(certificates.caCertificate)),
                             options: options)
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }

    /// Trusts the stand-in's CA (file) and sends `token`.
    func config(token: String? = "test-token") -> KubeConfig {
        KubeConfig(server: server, trust: .certificateAuthorityFile(certificates.caCertificate),
                   bearerToken: token.map { .value($0) })
    }

    /// Fast retries, so that tests of them take milliseconds (Retry-After aside).
    static func options(maximumAttempts: Int = 4) -> KubeClient.Options {
        var options = KubeClient.Options(version: "9.9.9")
        options.retry = RetryPolicy(maximumAttempts: maximumAttempts, initialDelay: .milliseconds(5), maximumDelay: .milliseconds(20))
        return options
    }

    func client(_ config: KubeConfig? = nil, options: KubeClient.Options = StandIn.options()) -> KubeClient {
        KubeClient(config: config ?? self.config(), options: options)
    }

    /// What the stand-in was asked, in order (control requests left out).
    func requests() throws -> [JSON] {
        try control.get("/_control/requests")["requests"]?.arrayValue ?? []
    }

    /// Answers for the next requests: `.status(503, retryAfter: 1)`, `.drop`.
    enum Fault {
        case status(Int, retryAfter: Int? = nil)
        case drop

        var json: JSON {
            switch self {
            case .status(let code, let retryAfter):
                var fault = JSON.object([("status", JSON(code))])
                if let retryAfter { fault.set("retryAfter", JSON(retryAfter)) }
                return fault
            case .drop: return .object([("drop", .bool(true))])
            }
        }
    }

    func inject(_ faults: [Fault]) throws {
        _ = try control.create("/_control/faults", .object([("faults", .array(faults.map(\.json)))]))
    }

    func acceptTokens(_ tokens: [String]) throws {
        _ = try control.create("/_control/tokens", .object([("tokens", .array(tokens.map { .string($0) }))]))
    }

    func compact() throws {
        _ = try control.create("/_control/compact", .object([]))
    }
}

extension JSON {
    /// A ConfigMap named `name` with `data`.
    static func configMap(_ name: String, data: [String: String] = [:], labels: [String: String] = [:]) -> JSON {
        var metadata = JSON.object([("name", .string(name))])
        if !labels.isEmpty { metadata.set("labels", JSON(sortingKeysOf: labels)) }
        return .object([("apiVersion", .string("v1")), ("kind", .string("ConfigMap")), ("metadata", metadata), ("data", JSON(sortingKeysOf: data))])
    }
}
