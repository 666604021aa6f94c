import XCTest
@testable import RDMAPerf

final class LatencyStatisticsTests: XCTestCase {
    /// 299 RDMA read round trips (ns) that ib_read_lat 4.5 printed with -U in the lab
    /// (`ib_read_lat -d rxe0 -x 1 -F -n 300 -U`), and the row it printed for them:
    ///  2  300  290.55  1387.98  709.51  707.11  192.62  1251.22  1387.98
    static let perftestReadSamples: [UInt64] = [
        2368530, 939837, 708082, 695157, 575152, 909390, 709514, 558871, 607102, 657747, 558400, 535136, 614967,
        619565, 477588, 586113, 656024, 603495, 962080, 784596, 596241, 684648, 508036, 1031430, 530448, 768746,
        390845, 785107, 514848, 889633, 734441, 545286, 462891, 883341, 469102, 655533, 569050, 559512, 629333, 757805,
        563851, 527232, 1033790, 426442, 759508, 707090, 426933, 560744, 709865, 523986, 922475, 511572, 592214,
        827687, 1261320, 1018890, 653659, 657968, 442001, 961799, 401114, 740853, 468501, 647638, 357933, 731285,
        795917, 755721, 470044, 636407, 442001, 726907, 973050, 376608, 869526, 789855, 723291, 869115, 549814, 713081,
        320593, 825432, 575252, 749530, 1173570, 682944, 719453, 707541, 817007, 516100, 555785, 478650, 561346,
        570724, 599988, 821715, 535758, 748999, 765019, 574070, 608364, 1227040, 448443, 611550, 705567, 518926,
        563430, 935650, 457891, 559833, 725945, 290546, 871329, 830021, 725685, 425029, 683285, 413458, 979593, 758647,
        545526, 747706, 551818, 420431, 742005, 529816, 767564, 752686, 359236, 783153, 703844, 571625, 873152, 534826,
        580452, 822226, 735273, 410422, 809102, 757374, 363764, 790026, 418317, 755992, 763526, 516832, 762444, 466728,
        747586, 713823, 631778, 661374, 802049, 306116, 898339, 629304, 730153, 586794, 696279, 910803, 567157, 791599,
        873072, 420671, 868874, 762464, 948123, 818740, 426712, 905844, 311897, 867341, 714875, 892038, 556957, 481215,
        727488, 375707, 796688, 745973, 657677, 587846, 573008, 562248, 707100, 847093, 991335, 454064, 568319, 545105,
        740693, 910272, 388771, 726947, 309442, 933966, 747867, 1120670, 648670, 815354, 739130, 526841, 600950,
        917786, 559733, 684928, 727108, 625456, 845440, 700888, 377460, 752305, 486285, 691781, 463181, 682103, 661725,
        517003, 726015, 883692, 1387980, 707661, 565664, 570974, 570132, 565403, 577206, 671924, 683506, 681061,
        771992, 610027, 1013590, 849047, 677625, 689617, 703433, 1070780, 503877, 717570, 659010, 1107710, 1018970,
        538062, 675951, 536259, 752696, 531950, 1003880, 969964, 887770, 548612, 989531, 761723, 927745, 513706,
        799934, 578528, 1216050, 799434, 936281, 904020, 1031500, 718010, 509167, 553020, 832947, 838427, 921233,
        751523, 909701, 999289, 1157560, 777272, 882239, 744841, 989601, 761602, 825733, 844148, 902047, 1158940,
        865247, 875567, 808811, 1127450, 811246, 952031, 1052500, 624675, 1251220, 805816, 828228, 803741, 1124610,
        868684, 740312, 919550, 1080650
    ]

    func testReproducesPerftestsRowFromItsOwnSamples() throws {
        let summary = try XCTUnwrap(LatencyStatistics.summarize(samples: Self.perftestReadSamples, bytes: 2, iterations: 300,
                                                                tripsPerSample: 1))
        let row = [summary.minimum, summary.maximum, summary.typical, summary.average, summary.standardDeviation,
                   summary.percentile99, summary.percentile999].map { LatencyReport.fixed($0) }
        XCTAssertEqual(row, ["290.55", "1387.98", "709.51", "707.11", "192.62", "1251.22", "1387.98"])
        XCTAssertEqual(summary.iterations, 300)
        XCTAssertEqual(summary.bytes, 2)
    }

    func testSamplesAreGapsBetweenConsecutivePosts() throws {
        // 6 posts give 5 samples: 10, 20, 30, 40, 1000 µs round trips; the two largest
        // (40, 1000) leave the kept set, so m = 3.
        let posts: [UInt64] = [0, 10_000, 30_000, 60_000, 100_000, 1_100_000]
        let summary = try XCTUnwrap(LatencyStatistics.summarize(postTimes: posts, bytes: 8, tripsPerSample: 1))
        XCTAssertEqual(summary.iterations, 6)
        XCTAssertEqual(summary.minimum, 10)
        XCTAssertEqual(summary.maximum, 40, "t_max is sorted[m], the second largest sample")
        XCTAssertEqual(summary.typical, 20, "odd m: the middle kept sample")
        XCTAssertEqual(summary.average, 20, "the average covers the m kept samples only")
        XCTAssertEqual(summary.percentile99, 40, "sorted[ceil(3 * 0.99)] = sorted[3]")
        XCTAssertEqual(summary.percentile999, 40)
    }

    func testEvenKeptCountAveragesTheMiddlePairInWholeNanoseconds() throws {
        // Samples 1, 2, 4, 5 ns kept (m = 4) plus two large ones dropped:
        // median = (sorted[2] + sorted[1]) / 2 = (4 + 2) / 2 = 3 ns; 3 and 4 ns give 3 (truncated).
        let a = try XCTUnwrap(LatencyStatistics.summarize(samples: [5, 1, 4, 2, 900, 800], bytes: 2, iterations: 7, tripsPerSample: 1))
        XCTAssertEqual(a.typical, 0.003)
        let b = try XCTUnwrap(LatencyStatistics.summarize(samples: [1, 3, 4, 9, 900, 800], bytes: 2, iterations: 7, tripsPerSample: 1))
        XCTAssertEqual(b.typical, 0.003, "(3 + 4) / 2 truncates to 3 ns, as perftest's integer cycles do")
    }

    func testPingPongsReportHalfTheRoundTrip() throws {
        let summary = try XCTUnwrap(LatencyStatistics.summarize(samples: [2_000, 4_000, 6_000, 8_000, 10_000], bytes: 2,
                                                                iterations: 6, tripsPerSample: 2))
        XCTAssertEqual(summary.minimum, 1)
        XCTAssertEqual(summary.typical, 2)
        XCTAssertEqual(summary.maximum, 4, "sorted[3] of 2, 4, 6, 8, 10 µs, halved")
        XCTAssertEqual(summary.average, 2)
    }

    func testStandardDeviationTruncatesEachDeviationLikePerftest() throws {
        // Kept samples 1.0, 2.0, 4.5 µs: average 2.5; deviations 1.5, 0.5, -2.0
        // truncate to 1, 0, -2: sqrt((1 + 0 + 4) / 3). Exact: sqrt((2.25 + 0.25 + 4) / 3).
        let summary = try XCTUnwrap(LatencyStatistics.summarize(samples: [1_000, 2_000, 4_500, 99_000, 98_000], bytes: 2,
                                                                iterations: 6, tripsPerSample: 1))
        XCTAssertEqual(summary.average, 2.5)
        XCTAssertEqual(summary.standardDeviation, (5.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(summary.exactStandardDeviation, (6.5 / 3).squareRoot(), accuracy: 1e-12)
    }

    func testPercentilesIndexTheSortedSamplesAtCeilings() throws {
        // 1002 samples 1...1002 µs: m = 1000; 99% = sorted[990] = 991 µs, 99.9% = sorted[999] = 1000 µs.
        let samples = (1...1002).reversed().map { UInt64($0) * 1000 }
        let summary = try XCTUnwrap(LatencyStatistics.summarize(samples: samples, bytes: 2, iterations: 1003, tripsPerSample: 1))
        XCTAssertEqual(summary.percentile99, 991)
        XCTAssertEqual(summary.percentile999, 1000)
        XCTAssertEqual(summary.maximum, 1001)
        XCTAssertEqual(summary.typical, 500.5, "even m: (sorted[500] + sorted[499]) / 2")
    }

    func testTooFewIterationsGiveNoSummary() {
        XCTAssertNil(LatencyStatistics.summarize(postTimes: [0, 1, 2], bytes: 2, tripsPerSample: 2))
        XCTAssertNotNil(LatencyStatistics.summarize(postTimes: [0, 1, 2, 3], bytes: 2, tripsPerSample: 2))
    }

    func testUnsortedSamplesAreGapsInTakenOrder() {
        XCTAssertEqual(LatencyStatistics.samples(postTimes: [0, 4_000, 6_000, 16_000], tripsPerSample: 2), [2, 1, 5])
        XCTAssertEqual(LatencyStatistics.samples(postTimes: [7], tripsPerSample: 1), [])
    }
}
