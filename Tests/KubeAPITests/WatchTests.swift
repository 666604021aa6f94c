import Foundation
import JSONValue
@testable import KubeAPI
import TestSupport
import XCTest

/// Watch streams from the stand-in: order, resourceVersions, stopping, errors.
final class WatchTests: XCTestCase {
    var standIn: StandIn!
    let configMaps = "/api/v1/namespaces/default/configmaps"

    override func setUpWithError() throws { standIn = try StandIn() }
    override func tearDown() { standIn = nil }

    func summary(_ event: WatchEvent) -> String {
        "\(event.type.rawValue) \(event.object["metadata"]?["name"]?.stringValue ?? "-") \(event.resourceVersion ?? "-")"
    }

    func testExistingObjectsThenABookmarkThenChangesInOrder() throws {
        let client = standIn.client()
        _ = try client.create(configMaps, .configMap("a"))
        _ = try client.create(configMaps, .configMap("b"))
        var seen: [String] = []
        var changeFailure: Error?
        let end = try client.watch(configMaps, timeout: .seconds(30)) { event in
            seen.append(summary(event))
            if event.type == .bookmark {
                // The stream is live: change things from here, in the callback's thread.
                do {
                    _ = try client.patch(configMaps + "/a", .object([("data", .object([("k", .string("v"))]))]), type: .merge)
                    try client.delete(configMaps + "/b")
                    _ = try client.create(configMaps, .configMap("c"))
                } catch {
                    changeFailure = error
                    return false
                }
            }
            return !(event.type == .added && event.object["metadata"]?["name"] == .string("c"))
        }
        XCTAssertNil(changeFailure)
        XCTAssertEqual(end, .stoppedByCallback)
        XCTAssertEqual(seen, ["ADDED a 1", "ADDED b 2", "BOOKMARK - 2", "MODIFIED a 3", "DELETED b 4", "ADDED c 5"])
        let query = try standIn.requests().first { $0["query"]?["watch"] != nil }?["query"]
        XCTAssertEqual(query, JSON(sortingKeysOf: ["allowWatchBookmarks": "true", "timeoutSeconds": "30", "watch": "true"]))
    }

    func testAWatchFromAResourceVersionReplaysWhatCameAfter() throws {
        let client = standIn.client()
        _ = try client.create(configMaps, .configMap("a"))
        _ = try client.patch(configMaps + "/a", .object([("data", .object([("k", .string("v"))]))]), type: .merge)
        _ = try client.create(configMaps, .configMap("b"))
        var seen: [String] = []
        try client.watch(configMaps, resourceVersion: "1") { event in
            seen.append(summary(event))
            return event.type != .bookmark
        }
        XCTAssertEqual(seen, ["MODIFIED a 2", "ADDED b 3", "BOOKMARK - 3"])
        XCTAssertEqual(try standIn.requests().last?["query"]?["resourceVersion"], .string("1"))
    }

    func testTheServerEndingTheStreamEndsTheWatch() throws {
        let client = standIn.client()
        _ = try client.create(configMaps, .configMap("a"))
        var seen: [String] = []
        let end = try client.watch(configMaps, timeout: .seconds(1)) { event in
            seen.append(summary(event))
            return true
        }
        XCTAssertEqual(end, .closedByServer)
        XCTAssertEqual(seen, ["ADDED a 1", "BOOKMARK - 1"])
    }

    func testATooOldResourceVersionIsAnErrorEventWithStatus410() throws {
        let client = standIn.client()
        _ = try client.create(configMaps, .configMap("a"))
        _ = try client.create(configMaps, .configMap("b"))
        try standIn.compact()
        var events: [WatchEvent] = []
        let end = try client.watch(configMaps, resourceVersion: "1") { event in
            events.append(event)
            return true
        }
        XCTAssertEqual(end, .closedByServer)
        XCTAssertEqual(events.map(\.type), [.error])
        XCTAssertEqual(events.first?.object["code"], JSON(410))
        XCTAssertEqual(events.first?.object["reason"], .string("Expired"))
    }

    func testCancellingFromAnotherThreadEndsAnIdleWatch() throws {
        let client = standIn.client()
        let cancellation = WatchCancellation()
        let state = Locked<(bookmarked: Bool, end: String?)>((false, nil))
        let thread = Thread {
            let end = Result { try client.watch("/api/v1/namespaces/default/configmaps", timeout: .seconds(120), cancellation: cancellation) { event in
                if event.type == .bookmark { state.withLock { $0.bookmarked = true } }
                return true
            } }
            state.withLock { $0.end = "\(end)" }
        }
        thread.start()
        try waitUntil { state.withLock { $0.bookmarked } }
        cancellation.cancel()
        try waitUntil { state.withLock { $0.end != nil } }
        XCTAssertEqual(state.withLock { $0.end }, "success(KubeAPI.WatchEnd.cancelled)")
    }

    func testA503BeforeTheStreamIsRetried() throws {
        let client = standIn.client()
        try standIn.inject([.status(503)])
        var seen: [WatchEvent.EventType] = []
        try client.watch(configMaps) { event in
            seen.append(event.type)
            return false
        }
        XCTAssertEqual(seen, [.bookmark])
        XCTAssertEqual(try standIn.requests().map { $0["answer"] ?? .null }, [JSON(503), JSON(200)])
    }

    func testAForbiddenWatchIsAStatusError() throws {
        XCTAssertThrowsError(try standIn.client(standIn.config(token: "nobody")).watch(configMaps) { _ in true }) { error in
            let error = error as! KubeAPIError
            XCTAssertEqual(error.verb, .watch)
            XCTAssertEqual(error.failure, .status(code: 401, reason: "Unauthorized", message: "Unauthorized"))
        }
    }

    /// Polls `condition` every 10 ms for up to 10 s.
    func waitUntil(_ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < deadline else { throw StandInError("condition not met within 10 s") }
            usleep(10_000)
        }
    }
}
