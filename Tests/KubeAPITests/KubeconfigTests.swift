import Foundation
import JSONValue
@testable import KubeAPI
import TestSupport
import XCTest

/// The kubeconfig YAML subset, the kubeconfig schema, and the in-cluster environment.
final class KubeconfigTests: XCTestCase {
    /// What `kubectl config view --raw` writes for a kind cluster, with a second context.
    let kubectlStyle = """
        apiVersion: v1
        clusters:
        - cluster:
            certificate-authority-data: LS0tLS1CRUdJTg==
            server: https://127.0.0.1:6443
          name: kind-kind
        - cluster:
            certificate-authority: certs/ca.crt   # relative to the file
            server: "https://[fd00::1]:443/"
          name: prod
        contexts:
        - context:
            cluster: kind-kind
            user: kind-kind
          name: kind-kind
        - context:
            cluster: prod
            namespace: dra-system
            user: 'robot'
          name: prod
        current-context: kind-kind
        kind: Config
        preferences: {}
        users:
        - name: kind-kind
          user:
            client-certificate-data: Y2VydA==
            client-key-data: a2V5
        - name: robot
          user:
            tokenFile: /var/run/robot/token

        """

    func parse(_ text: String, context: String? = nil) throws -> KubeConfig {
        try KubeConfig.kubeconfig(parsing: Array(text.utf8), source: "/home/u/.kube/config", relativeTo: "/home/u/.kube", context: context)
    }

    func testTheCurrentContextOfAKubectlStyleFile() throws {
        XCTAssertEqual(try parse(kubectlStyle), KubeConfig(
            server: "https://127.0.0.1:6443", trust: .certificateAuthorityData(Array("-----BEGIN".utf8)),
            clientCertificate: .init(certificate: .data(Array("cert".utf8)), key: .data(Array("key".utf8)))))
    }

    func testAChosenContextWithARelativeCAPathAndATokenFile() throws {
        XCTAssertEqual(try parse(kubectlStyle, context: "prod"), KubeConfig(
            server: "https://[fd00::1]:443", trust: .certificateAuthorityFile("/home/u/.kube/certs/ca.crt"),
            bearerToken: .file("/var/run/robot/token"), namespace: "dra-system"))
    }

    func testTheYAMLAndJSONFormsReadAlike() throws {
        let json = #"""
            {"kind": "Config", "current-context": "kind-kind",
             "clusters": [{"name": "kind-kind", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": "LS0tLS1CRUdJTg=="}}],
             "contexts": [{"name": "kind-kind", "context": {"cluster": "kind-kind", "user": "kind-kind"}}],
             "users": [{"name": "kind-kind", "user": {"client-certificate-data": "Y2VydA==", "client-key-data": "a2V5"}}]}
            """#
        XCTAssertEqual(try parse(json), try parse(kubectlStyle))
    }

    func testAnUnknownContextNamesTheKnownOnes() {
        XCTAssertThrowsError(try parse(kubectlStyle, context: "staging")) { error in
            XCTAssertEqual("\(error)", #"/home/u/.kube/config: context "staging" is not in contexts (it has "kind-kind", "prod")"#)
        }
    }

    func testAnExecPluginIsRefusedByName() {
        let text = kubectlStyle.replacingOccurrences(of: "    tokenFile: /var/run/robot/token",
                                                     with: "    exec:\n      command: aws\n      args:\n      - eks\n      - get-token")
        XCTAssertThrowsError(try parse(text, context: "prod")) { error in
            XCTAssertEqual("\(error)", #"/home/u/.kube/config: user "robot": exec is set, and exec credential plugins are not supported; use a token or a client certificate"#)
        }
    }

    func testBadBase64AndAHalfClientCertificateAreNamed() {
        XCTAssertThrowsError(try parse(kubectlStyle.replacingOccurrences(of: "a2V5", with: "a2V5!"))) { error in
            XCTAssertEqual("\(error)", #"/home/u/.kube/config: user "kind-kind": client-key-data is not base64"#)
        }
        XCTAssertThrowsError(try parse(kubectlStyle.replacingOccurrences(of: "    client-key-data: a2V5\n", with: ""))) { error in
            XCTAssertEqual("\(error)", #"/home/u/.kube/config: user "kind-kind" has a client certificate but no client key"#)
        }
    }

    func testInsecureWithACAIsRefusedAndAloneIsAllowed() throws {
        let insecure = kubectlStyle.replacingOccurrences(of: "    certificate-authority-data: LS0tLS1CRUdJTg==\n",
                                                         with: "    insecure-skip-tls-verify: true\n")
        XCTAssertEqual(try parse(insecure).trust, .insecureSkipVerify)
        let both = kubectlStyle.replacingOccurrences(of: "    server: https://127.0.0.1:6443\n",
                                                     with: "    server: https://127.0.0.1:6443\n    insecure-skip-tls-verify: true\n")
        XCTAssertThrowsError(try parse(both)) { error in
            XCTAssertEqual("\(error)", #"/home/u/.kube/config: cluster "kind-kind": a certificate authority and insecure-skip-tls-verify together are not allowed"#)
        }
    }

    func testAYAMLErrorNamesTheFileAndLine() {
        XCTAssertThrowsError(try parse("apiVersion: v1\nclusters:\n- cluster:\n\tserver: x\n")) { error in
            XCTAssertEqual("\(error)", "/home/u/.kube/config: line 4: a tab in the indentation (YAML indents with spaces)")
        }
    }

    // MARK: The YAML subset

    func yaml(_ text: String) throws -> JSON { try KubeconfigYAML.parse(text) }

    func testYAMLBlockCollectionsAndScalarTypes() throws {
        let text = """
            # a comment line
            ---
            top:
              list:
              - plain text  # trailing comment
              - "double \\"quoted\\" \\u00e9 # not a comment"
              - 'single ''quoted'''
              - 42
              - -1.5e3
              - true
              - ~
              - 0755
              -
                nested: item
              - - inner
                - list
              empty:
              braces: {}
              brackets: []
              "quoted key": x:y
            """
        XCTAssertEqual(try yaml(text), .object([("top", .object([
            ("list", .array([.string("plain text"), .string("double \"quoted\" é # not a comment"), .string("single 'quoted'"),
                             .number("42"), .number("-1.5e3"), .bool(true), .null, .string("0755"),
                             .object([("nested", .string("item"))]), .array([.string("inner"), .string("list")])])),
            ("empty", .null), ("braces", .object([])), ("brackets", .array([])), ("quoted key", .string("x:y")),
        ]))]))
    }

    func testYAMLOutsideTheSubsetIsRefusedWithItsLine() {
        let cases: [(String, String)] = [
            ("a: 1\nb: |\n  text\n", "line 2: block scalars ('|') are not supported; write the value on one line"),
            ("a: &anchor 1\n", "line 1: anchors and aliases are not supported"),
            ("a: !!str 1\n", "line 1: tags are not supported"),
            ("a: \"open\n", "line 1: a quoted value that does not close on its line (multi-line quoted values are not supported)"),
            ("a: 1\na: 2\n", "line 2: duplicate key \"a\""),
            ("a:\n  b: 1\n c: 2\n", "line 3: unexpected indentation (multi-line scalars are not supported)"),
            ("a: [1, 2]\n", "line 1: flow collections with content are not supported; use block style"),
            ("a: b: c\n", "line 1: a ':' in a plain value is ambiguous; quote the value"),
            ("a: 1\n---\nb: 2\n", "line 2: a second document; a kubeconfig is one"),
            ("a:\n- 1\n- 2\nb\n", "line 4: expected 'key: value'"),
            ("a: \"\\q\"\n", "line 1: unknown escape '\\q' in a double-quoted value"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try yaml(text), text) { error in
                XCTAssertEqual("\(error)", expected, text)
            }
        }
    }

    func testBase64() {
        XCTAssertEqual(base64Decoded("aGVsbG8="), Array("hello".utf8))
        XCTAssertEqual(base64Decoded("aGVs\nbG8"), Array("hello".utf8))
        XCTAssertEqual(base64Decoded(""), [])
        XCTAssertNil(base64Decoded("aGVsbG8=x"))
        XCTAssertNil(base64Decoded("a"))
        XCTAssertNil(base64Decoded("aGV-"))
    }

    // MARK: In-cluster

    func testInClusterBracketsAnIPv6Host() throws {
        let scratch = try ScratchDirectory("kubeapi-sa")
        try "token".write(toFile: scratch.path + "/token", atomically: true, encoding: .utf8)
        try "ca".write(toFile: scratch.path + "/ca.crt", atomically: true, encoding: .utf8)
        let config = try KubeConfig.inCluster(serviceAccountDirectory: scratch.path,
                                              environment: ["KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "443"])
        XCTAssertEqual(config, KubeConfig(server: "https://[fd00:10:96::1]:443", trust: .certificateAuthorityFile(scratch.path + "/ca.crt"),
                                          bearerToken: .file(scratch.path + "/token")))
    }

    func testInClusterOutsideAPodSaysSo() {
        XCTAssertThrowsError(try KubeConfig.inCluster(serviceAccountDirectory: "/nonexistent", environment: [:])) { error in
            XCTAssertEqual("\(error)", "in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (is this running in a pod?)")
        }
    }
}
