import JSONValue
@testable import KubeAPI
import XCTest

/// What is sent again and what is not, counted at the stand-in (never timed).
final class RetryTests: XCTestCase {
    var standIn: StandIn!
    let path = "/api/v1/namespaces/default/configmaps"

    override func setUpWithError() throws {
        standIn = try StandIn()
        _ = try standIn.client().create(path, .configMap("a"))
    }

    override func tearDown() { standIn = nil }

    /// The answers the stand-in gave to the requests after the setup's create.
    func answers() throws -> [JSON] {
        try standIn.requests().dropFirst().map { $0["answer"] ?? .null }
    }

    func test503IsRetriedUntilItSucceeds() throws {
        try standIn.inject([.status(503), .status(503)])
        XCTAssertEqual(try standIn.client().get(path + "/a")["metadata"]?["name"], .string("a"))
        XCTAssertEqual(try answers(), [JSON(503), JSON(503), JSON(200)])
    }

    func test429IsRetriedAfterRetryAfter() throws {
        try standIn.inject([.status(429, retryAfter: 1)])
        XCTAssertEqual(try standIn.client().list(path).items.count, 1)
        XCTAssertEqual(try answers(), [JSON(429), JSON(200)])
    }

    func testEach5xxThatMeansTryLaterIsRetried() throws {
        try standIn.inject([.status(500), .status(502), .status(504)])
        _ = try standIn.client(options: StandIn.options(maximumAttempts: 4)).get(path + "/a")
        XCTAssertEqual(try answers(), [JSON(500), JSON(502), JSON(504), JSON(200)])
    }

    func test400IsNotRetried() throws {
        try standIn.inject([.status(400)])
        XCTAssertThrowsError(try standIn.client().get(path + "/a")) { error in
            let error = error as! KubeAPIError
            XCTAssertEqual(error.failure, .status(code: 400, reason: "BadRequest", message: "injected fault"))
            XCTAssertEqual(error.attempts, 1)
        }
        XCTAssertEqual(try answers(), [JSON(400)])
    }

    func testRetriesStopAtTheLastAttemptWithTheLastAnswer() throws {
        try standIn.inject(Array(repeating: .status(503), count: 5))
        XCTAssertThrowsError(try standIn.client(options: StandIn.options(maximumAttempts: 3)).get(path + "/a")) { error in
            let error = error as! KubeAPIError
            XCTAssertEqual(error.attempts, 3)
            XCTAssertEqual(error.description,
                           "get /api/v1/namespaces/default/configmaps/a: HTTP 503 ServiceUnavailable: injected fault (after 3 attempts)")
        }
        XCTAssertEqual(try answers(), [JSON(503), JSON(503), JSON(503)])
    }

    func testADroppedConnectionIsRetriedForAGet() throws {
        try standIn.inject([.drop])
        XCTAssertEqual(try standIn.client().get(path + "/a")["metadata"]?["name"], .string("a"))
        XCTAssertEqual(try answers(), [.string("dropped"), JSON(200)])
    }

    func testADroppedCreateIsNotSentTwice() throws {
        try standIn.inject([.drop])
        XCTAssertThrowsError(try standIn.client().create(path, .configMap("b"))) { error in
            let error = error as! KubeAPIError
            guard case .transport(let code, _) = error.failure else { return XCTFail("\(error)") }
            XCTAssertEqual(error.attempts, 1)
            XCTAssertTrue([52, 56].contains(code), "\(error)")  // an empty reply, or the TLS layer's EOF
        }
        XCTAssertEqual(try answers(), [.string("dropped")])
    }

    func testAStaticTokenRefusedWith401IsNotRetried() throws {
        XCTAssertThrowsError(try standIn.client(standIn.config(token: "wrong")).get(path + "/a")) { error in
            XCTAssertEqual((error as? KubeAPIError)?.failure, .status(code: 401, reason: "Unauthorized", message: "Unauthorized"))
        }
        XCTAssertEqual(try answers(), [JSON(401)])
    }

    func testARefusedConnectionIsRetriedThenNamed() throws {
        // Port 1 on loopback: nothing listens there.
        let config = KubeConfig(server: "https://127.0.0.1:1", trust: .certificateAuthorityFile(standIn.certificates.caCertificate))
        XCTAssertThrowsError(try KubeClient(config: config, options: StandIn.options(maximumAttempts: 3)).get("/api/v1/nodes")) { error in
            let error = error as! KubeAPIError
            XCTAssertEqual(error.attempts, 3)
            guard case .transport(let code, let text) = error.failure else { return XCTFail("\(error)") }
            XCTAssertEqual(code, 7)  // CURLE_COULDNT_CONNECT
            XCTAssertTrue(text.hasPrefix("Failed to connect to 127.0.0.1 port 1"), text)
            XCTAssertTrue(error.description.hasPrefix("get /api/v1/nodes: Failed to connect to 127.0.0.1 port 1"), error.description)
        }
    }
}
