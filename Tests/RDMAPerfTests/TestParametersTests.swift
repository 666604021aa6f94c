import XCTest
@testable import RDMAPerf

final class TestParametersTests: XCTestCase {
    static let send2 = TestParameters(test: .send, sizes: .single(2), iterations: 1000, warmupIterations: 16)

    func testIdenticalRunsAgree() {
        XCTAssertNil(Self.send2.mismatch(with: Self.send2))
    }

    func testADifferentTestIsReportedFromEachSide() throws {
        var write = Self.send2
        write.test = .write
        let server = try XCTUnwrap(Self.send2.mismatch(with: write))
        let client = try XCTUnwrap(write.mismatch(with: Self.send2))
        XCTAssertEqual(server.fields, [.init(name: "test", local: "send", peer: "write")])
        XCTAssertEqual(client.fields, [.init(name: "test", local: "write", peer: "send")])
        XCTAssertEqual("\(server)", "the two sides asked for different tests or sizes (test: this side send, peer write); "
                       + "start both with the same test, size, --iters and --warmup")
    }

    func testEveryDifferingFieldIsListed() throws {
        let other = TestParameters(test: .read, sizes: .powersOfTwo(upTo: 1024), iterations: 10, warmupIterations: 0)
        let mismatch = try XCTUnwrap(Self.send2.mismatch(with: other))
        XCTAssertEqual(mismatch.fields.map(\.name), ["test", "size", "iterations", "warm-up iterations"])
        XCTAssertEqual(mismatch.fields[1], .init(name: "size", local: "2 B", peer: "all sizes 2 B to 1024 B"))
    }

    func testOneSizeAndAllSizesEndingThereDiffer() {
        let one = TestParameters(test: .send, sizes: .single(1024), iterations: 5, warmupIterations: 0)
        let all = TestParameters(test: .send, sizes: .powersOfTwo(upTo: 1024), iterations: 5, warmupIterations: 0)
        XCTAssertNotNil(one.mismatch(with: all))
    }

    func testAllSizesArePowersOfTwoFromTwo() {
        XCTAssertEqual(MessageSizes.powersOfTwo(upTo: 64).sizes, [2, 4, 8, 16, 32, 64])
        XCTAssertEqual(MessageSizes.powersOfTwo(upTo: MessageSizes.largestAll).sizes.count, 23)
        XCTAssertEqual(MessageSizes.powersOfTwo(upTo: MessageSizes.largestAll).largest, 8_388_608)
        XCTAssertEqual(MessageSizes.single(1000).sizes, [1000])
    }

    func testTripsPerSampleFollowPerftest() {
        XCTAssertEqual(LatencyTest.send.tripsPerSample, 2)
        XCTAssertEqual(LatencyTest.write.tripsPerSample, 2)
        XCTAssertEqual(LatencyTest.read.tripsPerSample, 1)
    }
}
