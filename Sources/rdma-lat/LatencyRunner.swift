#if canImport(Glibc)
import Glibc
#endif
import RDMAPerf

/// Runs one side and prints as it goes: the header when connected, a row per
/// size, or one JSON document at the end with --json.
struct LatencyRunner {
    let options: LatencyOptions
    let test: LatencyTest

    func run() throws {
        let benchmark = LatencyBenchmark(configuration: options.configuration(for: test))
        var description: RunDescription?
        var results: [LatencySummary] = []
        try benchmark.run(
            connected: { run in
                description = run
                guard !options.json else { return }
                print(LatencyReport.header(run))
                if run.isServer && !test.serverMeasures {
                    print(LatencyReport.readServerNote)
                } else {
                    print(LatencyReport.columnHeader)
                }
                fflush(nil)  // all streams: `stdout` is a global var Swift 6 will not touch
            },
            measured: { measurement in
                let summary = measurement.summary
                results.append(summary)
                guard !options.json else { return }
                if options.reportUnsorted {
                    // perftest -U: every sample in the order taken, then the summary.
                    print("#, usec")
                    for (index, sample) in measurement.samples.enumerated() {
                        print("\(index + 1), \(LatencyReport.fixed(sample, decimals: 3))")
                    }
                    print(LatencyReport.columnHeader)
                }
                print(LatencyReport.row(summary))
                fflush(nil)  // all streams: `stdout` is a global var Swift 6 will not touch
            })
        if options.json, let description {
            print(LatencyReport.json(description, results: results))
        } else {
            print(LatencyReport.separator)
        }
    }
}
