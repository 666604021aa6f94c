#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSONValue
@testable import KubeAPI
import SystemSupport
import TestSupport
import XCTest

/// TLS trust, client certificates, and bearer tokens that rotate, against the stand-in.
final class AuthenticationTests: XCTestCase {
    var standIn: StandIn!
    var scratch: ScratchDirectory!
    let nodes = "/api/v1/nodes"

    override func setUpWithError() throws {
        standIn = try StandIn(tokens: ["one"])
        scratch = try ScratchDirectory("kubeapi-auth")
    }

    override func tearDown() {
        standIn = nil
        scratch = nil
    }

    /// A pod's serviceaccount directory, with `token`, the stand-in's CA and a namespace.
    func serviceAccount(token: String) throws -> String {
        let directory = scratch.path + "/serviceaccount"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try writeFileAtomically(Array(token.utf8), to: directory + "/token")
        try writeFileAtomically(try standIn.certificates.contents(standIn.certificates.caCertificate), to: directory + "/ca.crt")
        try writeFileAtomically(Array("dra-system\n".utf8), to: directory + "/namespace")
        return directory
    }

    func inClusterConfig(_ directory: String) throws -> KubeConfig {
        try KubeConfig.inCluster(serviceAccountDirectory: directory,
                                 environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "\(standIn.port)"])
    }

    func authorizations() throws -> [JSON] {
        try standIn.requests().map { .array([$0["authorization"] ?? .null, $0["answer"] ?? .null]) }
    }

    func testInClusterReadsTheServiceAccount() throws {
        let config = try inClusterConfig(try serviceAccount(token: "one\n"))
        XCTAssertEqual(config.server, "https://127.0.0.1:\(standIn.port)")
        XCTAssertEqual(config.namespace, "dra-system")
        XCTAssertEqual(config.bearerToken, .file(scratch.path + "/serviceaccount/token"))
        XCTAssertEqual(try standIn.client(config).list(nodes).items, [])
    }

    func testARotatedTokenIsUsedByTheNextRequest() throws {
        let directory = try serviceAccount(token: "one")
        let client = standIn.client(try inClusterConfig(directory))
        _ = try client.list(nodes)
        try standIn.acceptTokens(["two"])
        try writeFileAtomically(Array("two".utf8), to: directory + "/token")
        _ = try client.list(nodes)
        XCTAssertEqual(try authorizations(), [.array([.string("Bearer one"), JSON(200)]), .array([.string("Bearer two"), JSON(200)])])
    }

    func testA401ReadsTheTokenFileAgainAndRetriesOnce() throws {
        let directory = try serviceAccount(token: "one")
        let client = standIn.client(try inClusterConfig(directory), options: {
            var options = StandIn.options()
            options.retry = .none  // the re-read happens whatever the policy
            return options
        }())
        _ = try client.list(nodes)
        // The same size and modification time in the same inode: nothing the client can
        // see changed, so only the 401 tells it to read the file again.
        let path = directory + "/token"
        var before = stat()
        XCTAssertEqual(stat(path, &before), 0)
        let file = try FileDescriptor.open(path, O_WRONLY)
        try file.writeAll(Array("new".utf8))
        file.close()
        var times = [before.st_atim, before.st_mtim]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
        try standIn.acceptTokens(["new"])

        _ = try client.list(nodes)
        XCTAssertEqual(try authorizations(), [.array([.string("Bearer one"), JSON(200)]), .array([.string("Bearer one"), JSON(401)]),
                                              .array([.string("Bearer new"), JSON(200)])])
    }

    func testAnUnreadableTokenFileFailsTheInClusterConfig() throws {
        let directory = try serviceAccount(token: "one")
        unlink(directory + "/token")
        XCTAssertThrowsError(try inClusterConfig(directory)) { error in
            XCTAssertEqual((error as? KubeConfigError)?.source, directory + "/token")
        }
    }

    func testAWrongCAIsAClearTLSErrorAndNotRetried() throws {
        let config = KubeConfig(server: standIn.server, trust: .certificateAuthorityFile(standIn.certificates.otherCACertificate),
                                bearerToken: .value("one"))
        XCTAssertThrowsError(try standIn.client(config).get(nodes)) { error in
            let error = error as! KubeAPIError
            guard case .transport(let code, let text) = error.failure else { return XCTFail("\(error)") }
            XCTAssertEqual(code, 60)  // CURLE_PEER_FAILED_VERIFICATION
            XCTAssertTrue(text.hasPrefix("SSL certificate problem: "), text)
            XCTAssertEqual(error.attempts, 1)
        }
        XCTAssertEqual(try standIn.requests().count, 0)
    }

    func testCADataIsTrustedWithoutAFile() throws {
        let config = KubeConfig(server: standIn.server,
                                trust: .certificateAuthorityData(try standIn.certificates.contents(standIn.certificates.caCertificate)),
                                bearerToken: .value("one"))
        XCTAssertEqual(try standIn.client(config).list(nodes).items, [])
    }

    func testAClientCertificateFromDataAuthenticates() throws {
        let certificates = standIn.certificates
        let config = KubeConfig(server: standIn.server, trust: .certificateAuthorityFile(certificates.caCertificate),
                                clientCertificate: .init(certificate: .data(try certificates.contents(certificates.clientCertificate)),
                                                         key: .data(try certificates.contents(certificates.clientKey))))
        _ = try standIn.client(config).list(nodes)
        let request = try standIn.requests().first
        XCTAssertEqual(request?["clientCommonName"], .string("kubeapi-test-client"))
        XCTAssertEqual(request?["authorization"], .null)
        XCTAssertEqual(request?["answer"], JSON(200))
    }

    func testAClientCertificateFromFilesAuthenticates() throws {
        let certificates = standIn.certificates
        let config = KubeConfig(server: standIn.server, trust: .certificateAuthorityFile(certificates.caCertificate),
                                clientCertificate: .init(certificate: .file(certificates.clientCertificate), key: .file(certificates.clientKey)))
        _ = try standIn.client(config).list(nodes)
        XCTAssertEqual(try standIn.requests().first?["clientCommonName"], .string("kubeapi-test-client"))
    }

    func testAKubeconfigInYAMLWithCADataAndClientCertificateDataReachesTheServer() throws {
        let certificates = standIn.certificates
        func base64(_ path: String) throws -> String { Data(try certificates.contents(path)).base64EncodedString() }
        let yaml = """
            apiVersion: v1
            kind: Config
            clusters:
            - cluster:
                certificate-authority-data: \(try base64(certificates.caCertificate))
                server: \(standIn.server)
              name: standin
            contexts:
            - context:
                cluster: standin
                user: admin
              name: standin-admin
            current-context: standin-admin
            preferences: {}
            users:
            - name: admin
              user:
                client-certificate-data: \(try base64(certificates.clientCertificate))
                client-key-data: \(try base64(certificates.clientKey))

            """
        try yaml.write(toFile: scratch.path + "/config", atomically: true, encoding: .utf8)
        let config = try KubeConfig.kubeconfig(at: scratch.path + "/config")
        _ = try standIn.client(config).list(nodes)
        XCTAssertEqual(try standIn.requests().first?["clientCommonName"], .string("kubeapi-test-client"))
    }

    func testAKubeconfigInJSONWithARelativeCAFileAndATokenReachesTheServer() throws {
        try FileManager.default.copyItem(atPath: standIn.certificates.caCertificate, toPath: scratch.path + "/ca.crt")
        let json = """
            {"apiVersion": "v1", "kind": "Config", "current-context": "c",
             "clusters": [{"name": "s", "cluster": {"server": "\(standIn.server)/", "certificate-authority": "ca.crt"}}],
             "contexts": [{"name": "c", "context": {"cluster": "s", "user": "u", "namespace": "ns"}}],
             "users": [{"name": "u", "user": {"token": "one"}}]}
            """
        try json.write(toFile: scratch.path + "/config.json", atomically: true, encoding: .utf8)
        let config = try KubeConfig.kubeconfig(at: scratch.path + "/config.json")
        XCTAssertEqual(config, KubeConfig(server: standIn.server, trust: .certificateAuthorityFile(scratch.path + "/ca.crt"),
                                          bearerToken: .value("one"), namespace: "ns"))
        _ = try standIn.client(config).list(nodes)
        XCTAssertEqual(try authorizations(), [.array([.string("Bearer one"), JSON(200)])])
    }
}
