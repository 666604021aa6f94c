@testable import KubeAPI
import XCTest

/// The delays and the classification of failures, without a server.
final class RetryPolicyTests: XCTestCase {
    func testTheBackoffDoublesUpToItsMaximum() {
        let policy = RetryPolicy(initialDelay: .milliseconds(200), maximumDelay: .seconds(5))
        XCTAssertEqual((1...7).map { policy.delay(afterAttempt: $0) },
                       [.milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
                        .milliseconds(3200), .seconds(5), .seconds(5)])
    }

    func testOnlyTryLaterStatusesAreRetryable() {
        XCTAssertEqual([400, 401, 403, 404, 409, 410, 422, 429, 500, 501, 502, 503, 504].filter(RetryPolicy.isRetryable(status:)),
                       [429, 500, 502, 503, 504])
    }

    func testAFailureAfterSendingIsRetriedOnlyForIdempotentRequests() {
        XCTAssertTrue(RetryPolicy.mayRetry(curlCode: 7, idempotent: false))  // refused: nothing was sent
        XCTAssertTrue(RetryPolicy.mayRetry(curlCode: 52, idempotent: true))   // empty reply
        XCTAssertFalse(RetryPolicy.mayRetry(curlCode: 52, idempotent: false))
        XCTAssertFalse(RetryPolicy.mayRetry(curlCode: 60, idempotent: true))  // the server's certificate
    }
}
