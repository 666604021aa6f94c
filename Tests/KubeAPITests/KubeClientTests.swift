import Dispatch
import JSONValue
@testable import KubeAPI
import TestSupport
import XCTest

/// Every verb against the stand-in, pagination, and the Status errors it answers with.
final class KubeClientTests: XCTestCase {
    var standIn: StandIn!
    let configMaps = "/api/v1/namespaces/default/configmaps"

    override func setUpWithError() throws { standIn = try StandIn() }
    override func tearDown() { standIn = nil }

    func testCreateGetUpdateDeleteRoundTrip() throws {
        let client = standIn.client()
        let created = try client.create(configMaps, .configMap("a", data: ["k": "v"]))
        XCTAssertEqual(created["metadata"]?["namespace"], .string("default"))
        XCTAssertEqual(created["metadata"]?["resourceVersion"], .string("1"))

        var fetched = try client.get(configMaps + "/a")
        XCTAssertEqual(fetched["data"]?["k"], .string("v"))
        fetched.set("data", JSON(sortingKeysOf: ["k": "w"]))
        let updated = try client.update(configMaps + "/a", fetched)
        XCTAssertEqual(updated["metadata"]?["resourceVersion"], .string("2"))
        XCTAssertEqual(try client.get(configMaps + "/a")["data"]?["k"], .string("w"))

        let deleted = try client.delete(configMaps + "/a")
        XCTAssertEqual(deleted?["metadata"]?["name"], .string("a"))
        XCTAssertThrowsError(try client.get(configMaps + "/a")) { error in
            XCTAssertEqual((error as? KubeAPIError)?.isNotFound, true)
        }
        XCTAssertEqual(try standIn.requests().map { $0["method"]?.stringValue ?? "" }, ["POST", "GET", "PUT", "GET", "DELETE", "GET"])
    }

    func testDeletingAMissingObjectIsNotAnErrorUnlessAsked() throws {
        let client = standIn.client()
        XCTAssertNil(try client.delete(configMaps + "/missing"))
        XCTAssertThrowsError(try client.delete(configMaps + "/missing", notFoundIsError: true)) { error in
            XCTAssertEqual((error as? KubeAPIError)?.httpStatus, 404)
        }
    }

    func testRequestsCarryUserAgentAcceptContentTypeAndToken() throws {
        let client = standIn.client()
        _ = try client.create(configMaps, .configMap("a"))
        _ = try client.get(configMaps + "/a")
        let requests = try standIn.requests()
        XCTAssertEqual(requests.map { $0["userAgent"] }, [.string("sriov-rdma-dp/9.9.9"), .string("sriov-rdma-dp/9.9.9")])
        XCTAssertEqual(requests.map { $0["accept"] }, [.string("application/json"), .string("application/json")])
        XCTAssertEqual(requests.map { $0["authorization"] }, [.string("Bearer test-token"), .string("Bearer test-token")])
        XCTAssertEqual(requests.map { $0["contentType"] }, [.string("application/json"), .null])
    }

    func testEachPatchTypeSendsItsContentTypeAndIsApplied() throws {
        let client = standIn.client()
        _ = try client.create(configMaps, .configMap("a", data: ["one": "1"]))
        _ = try client.patch(configMaps + "/a", .object([("data", .object([("two", .string("2"))]))]), type: .merge)
        _ = try client.patch(configMaps + "/a", .object([("data", .object([("one", .null)]))]), type: .strategicMerge)
        let jsonPatch = JSON.array([.object([("op", .string("add")), ("path", .string("/data/three")), ("value", .string("3"))])])
        let patched = try client.patch(configMaps + "/a", jsonPatch, type: .json)
        XCTAssertEqual(patched["data"], JSON(sortingKeysOf: ["three": "3", "two": "2"]))

        let applied = try client.patch(configMaps + "/b", .configMap("b", data: ["x": "y"]),
                                       type: .apply(fieldManager: "sriov-rdma-dra", force: true))
        XCTAssertEqual(applied["data"]?["x"], .string("y"))

        let requests = try standIn.requests().dropFirst()
        XCTAssertEqual(requests.map { $0["contentType"]?.stringValue ?? "" }, [
            "application/merge-patch+json", "application/strategic-merge-patch+json",
            "application/json-patch+json", "application/apply-patch+yaml",
        ])
        XCTAssertEqual(requests.last?["query"], JSON(sortingKeysOf: ["fieldManager": "sriov-rdma-dra", "force": "true"]))
    }

    func testAnApplyWithoutForceSendsNoForce() throws {
        _ = try standIn.client().patch(configMaps + "/b", .configMap("b"), type: .apply(fieldManager: "m", force: false))
        XCTAssertEqual(try standIn.requests().first?["query"], JSON(sortingKeysOf: ["fieldManager": "m"]))
    }

    func testListFollowsContinueTokensToTheLastPage() throws {
        let client = standIn.client()
        for name in ["g", "c", "a", "e", "b", "f", "d"] { _ = try client.create(configMaps, .configMap(name)) }
        var options = StandIn.options()
        options.pageSize = 3
        let list = try standIn.client(options: options).list(configMaps)
        XCTAssertEqual(list.items.map { $0["metadata"]?["name"]?.stringValue ?? "" }, ["a", "b", "c", "d", "e", "f", "g"])
        XCTAssertEqual(list.resourceVersion, "7")
        let pages = try standIn.requests().filter { $0["method"] == .string("GET") }
        XCTAssertEqual(pages.count, 3)
        XCTAssertEqual(pages.map { $0["query"]?["limit"] }, [.string("3"), .string("3"), .string("3")])
        XCTAssertNil(pages[0]["query"]?["continue"])
        XCTAssertNotNil(pages[2]["query"]?["continue"])
    }

    func testListSendsSelectorsEncodedAndTheServerFilters() throws {
        let client = standIn.client()
        _ = try client.create(configMaps, .configMap("a", labels: ["app": "x", "tier": "web"]))
        _ = try client.create(configMaps, .configMap("b", labels: ["app": "x", "tier": "db"]))
        _ = try client.create(configMaps, .configMap("c", labels: ["app": "y"]))
        let list = try client.list(configMaps, labelSelector: "app=x,tier!=db", fieldSelector: "metadata.name=a")
        XCTAssertEqual(list.items.map { $0["metadata"]?["name"] }, [.string("a")])
        let query = try standIn.requests().last?["query"]
        XCTAssertEqual(query?["labelSelector"], .string("app=x,tier!=db"))
        XCTAssertEqual(query?["fieldSelector"], .string("metadata.name=a"))
    }

    func testAnEmptyListHasNoItems() throws {
        let list = try standIn.client().list("/apis/resource.k8s.io/v1/resourceslices")
        XCTAssertEqual(list.items, [])
        XCTAssertEqual(list.resourceVersion, "0")
    }

    func testNotFoundNamesVerbPathReasonAndMessage() throws {
        XCTAssertThrowsError(try standIn.client().get(configMaps + "/missing")) { error in
            let error = error as! KubeAPIError
            XCTAssertEqual(error.failure, .status(code: 404, reason: "NotFound", message: #"configmaps "missing" not found"#))
            XCTAssertEqual(error.description, #"get /api/v1/namespaces/default/configmaps/missing: HTTP 404 NotFound: configmaps "missing" not found"#)
        }
    }

    func testCreatingTwiceIsAlreadyExists() throws {
        let client = standIn.client()
        _ = try client.create(configMaps, .configMap("a"))
        XCTAssertThrowsError(try client.create(configMaps, .configMap("a"))) { error in
            let error = error as! KubeAPIError
            XCTAssertTrue(error.isAlreadyExists)
            XCTAssertFalse(error.isConflict)
            XCTAssertEqual(error.failure, .status(code: 409, reason: "AlreadyExists", message: #"configmaps "a" already exists"#))
            XCTAssertEqual(error.verb, .create)
        }
    }

    func testAnInvalidObjectIs422WithTheFieldInTheMessage() throws {
        XCTAssertThrowsError(try standIn.client().create(configMaps, .configMap("Not_Valid"))) { error in
            let error = error as! KubeAPIError
            XCTAssertEqual(error.httpStatus, 422)
            XCTAssertEqual(error.reason, "Invalid")
            XCTAssertTrue(error.message?.hasPrefix(#"ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid""#) == true,
                          error.description)
        }
    }

    func testAStaleResourceVersionIsAConflict() throws {
        let client = standIn.client()
        let created = try client.create(configMaps, .configMap("a"))
        _ = try client.update(configMaps + "/a", created)
        XCTAssertThrowsError(try client.update(configMaps + "/a", created)) { error in
            let error = error as! KubeAPIError
            XCTAssertTrue(error.isConflict)
            XCTAssertEqual(error.reason, "Conflict")
            XCTAssertEqual(error.attempts, 1)
        }
    }

    func testUpdatingStatusChangesOnlyTheStatus() throws {
        let client = standIn.client()
        let claims = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims"
        var claim = JSON.object([("metadata", .object([("name", .string("claim"))])), ("spec", .object([("x", JSON(1))]))])
        claim = try client.create(claims, claim)
        var changed = claim
        changed.set("spec", .object([]))
        changed.set("status", .object([("allocation", .object([("ok", .bool(true))]))]))
        let updated = try client.update(claims + "/claim/status", changed)
        XCTAssertEqual(updated["spec"], .object([("x", JSON(1))]))
        XCTAssertEqual(updated["status"]?["allocation"]?["ok"], .bool(true))
    }

    func testAPathWithoutALeadingSlashIsRefusedBeforeSending() throws {
        XCTAssertThrowsError(try standIn.client().get("api/v1/nodes")) { error in
            XCTAssertEqual((error as? KubeAPIError)?.failure, .request("the path must start with '/' and hold no spaces or '#'"))
        }
        XCTAssertEqual(try standIn.requests().count, 0)
    }

    func testConcurrentCallersShareOneClient() throws {
        let client = standIn.client()
        let failures = Locked<[String]>([])
        let configMaps = configMaps
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<5 {
                do {
                    _ = try client.create(configMaps, .configMap("w\(worker)-\(index)"))
                    _ = try client.get(configMaps + "/w\(worker)-\(index)")
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(try client.list(configMaps).items.count, 40)
    }
}
