#if canImport(Glibc)
import Glibc
#endif

/// One row of the report: perftest's latency columns, in microseconds.
public struct LatencySummary: Sendable, Equatable {
    public var bytes: Int
    /// Timed iterations (perftest's `#iterations`; it gives iterations - 1 samples).
    public var iterations: Int
    public var minimum: Double
    public var maximum: Double
    /// The median (perftest's t_typical).
    public var typical: Double
    public var average: Double
    /// As perftest computes it: each deviation truncated to whole microseconds.
    public var standardDeviation: Double
    /// The population standard deviation without that truncation.
    public var exactStandardDeviation: Double
    public var percentile99: Double
    public var percentile999: Double

    public init(bytes: Int, iterations: Int, minimum: Double, maximum: Double, typical: Double, average: Double,
                standardDeviation: Double, exactStandardDeviation: Double, percentile99: Double, percentile999: Double) {
        self.bytes = bytes
        self.iterations = iterations
        self.minimum = minimum
        self.maximum = maximum
        self.typical = typical
        self.average = average
        self.standardDeviation = standardDeviation
        self.exactStandardDeviation = exactStandardDeviation
        self.percentile99 = percentile99
        self.percentile999 = percentile999
    }
}

/// perftest's latency statistics (perftest_parameters.c `print_report_lat`),
/// re-derived so the two tools' numbers compare one to one:
/// - a sample is the time between two consecutive posts, so n timed iterations
///   give n - 1 samples, each one full round trip;
/// - samples are sorted and the largest `droppedTail` (LAT_MEASURE_TAIL = 2)
///   leave the count m used for the median, average and deviation;
/// - t_max is sorted[m] (the second largest sample), t_min sorted[0];
/// - the median of the m kept samples, averaging the middle two in integer
///   clock units when m is even;
/// - the 99% and 99.9% points are sorted[ceil(m * 0.99)] and sorted[ceil(m * 0.999)];
/// - every value is divided by the trips per sample (2 for ping-pongs).
public enum LatencyStatistics {
    /// perftest's LAT_MEASURE_TAIL.
    public static let droppedTail = 2
    /// Fewest timed iterations that leave one kept sample.
    public static let minimumIterations = droppedTail + 2

    /// The summary of one size's run, from the clock readings (nanoseconds) taken
    /// just before each timed post; nil with fewer than `minimumIterations`.
    public static func summarize(postTimes: [UInt64], bytes: Int, tripsPerSample: Int) -> LatencySummary? {
        guard postTimes.count >= minimumIterations else { return nil }
        var samples = [UInt64](repeating: 0, count: postTimes.count - 1)
        for index in samples.indices { samples[index] = postTimes[index + 1] &- postTimes[index] }
        return summarize(samples: samples, bytes: bytes, iterations: postTimes.count, tripsPerSample: tripsPerSample)
    }

    /// The samples in microseconds, unsorted: the gaps between posts divided by the trips per sample.
    public static func samples(postTimes: [UInt64], tripsPerSample: Int) -> [Double] {
        guard postTimes.count > 1 else { return [] }
        let divisor = 1000.0 * Double(tripsPerSample)
        return (0..<(postTimes.count - 1)).map { Double(postTimes[$0 + 1] &- postTimes[$0]) / divisor }
    }

    /// The summary from round-trip samples in nanoseconds (iterations - 1 of them).
    public static func summarize(samples unsorted: [UInt64], bytes: Int, iterations: Int, tripsPerSample: Int) -> LatencySummary? {
        guard unsorted.count > droppedTail else { return nil }
        let sorted = unsorted.sorted()
        let kept = sorted.count - droppedTail
        // Nanoseconds per microsecond times the trips a sample spans.
        let divisor = 1000.0 * Double(tripsPerSample)
        func microseconds(_ value: UInt64) -> Double { Double(value) / divisor }

        // perftest's get_median: in integer clock units, so the halving truncates.
        let median = kept % 2 == 0 ? (sorted[kept / 2] + sorted[kept / 2 - 1]) / 2 : sorted[kept / 2]

        var sum = 0.0
        for index in 0..<kept { sum += microseconds(sorted[index]) }
        let average = sum / Double(kept)

        // perftest stores each deviation and its square in an int.
        var truncatedSquares = 0.0
        var exactSquares = 0.0
        for index in 0..<kept {
            let deviation = average - microseconds(sorted[index])
            let whole = Int64(deviation.rounded(.towardZero))
            truncatedSquares += Double(whole * whole)
            exactSquares += deviation * deviation
        }

        let index99 = Int((Double(kept) * 0.99).rounded(.up))
        let index999 = Int((Double(kept) * 0.999).rounded(.up))
        return LatencySummary(
            bytes: bytes, iterations: iterations,
            minimum: microseconds(sorted[0]), maximum: microseconds(sorted[kept]),
            typical: microseconds(median), average: average,
            standardDeviation: (truncatedSquares / Double(kept)).squareRoot(),
            exactStandardDeviation: (exactSquares / Double(kept)).squareRoot(),
            percentile99: microseconds(sorted[index99]), percentile999: microseconds(sorted[index999]))
    }
}
