import JSONValue

/// The text and JSON forms of a run's output. Text follows perftest's layout,
/// so scripts that read ib_*_lat output read ours; JSON is for everything else.
public enum LatencyReport {
    public static let separator = String(repeating: "-", count: 87)

    /// perftest's column header (perftest_parameters.h RESULT_FMT_LAT).
    public static let columnHeader =
        " #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    t_avg[usec]    t_stdev[usec]   99% percentile[usec]   99.9% percentile[usec] "

    public static func header(_ run: RunDescription) -> String {
        var lines = [separator, centered(run.test.title, width: 87)]
        func pair(_ left: String, _ leftValue: String, _ right: String, _ rightValue: String) {
            lines.append(" " + padded(left, 16) + ": " + padded(leftValue, 16) + "\t" + padded(right, 15) + ": " + rightValue)
        }
        pair("Role", run.isServer ? "server" : "client", "Device", run.device)
        pair("Connection type", "RC", "Port", "\(run.port)")
        pair("Exchange", "\(run.exchange)", "Peer", run.peer)
        let gid = run.gidIndex.map { index in
            "\(index)" + (run.gid.map { " (\($0)" + (run.gidType.map { ", \($0)" } ?? "") + ")" } ?? "")
        } ?? "chosen by rdma_cm"
        lines.append(" " + padded("GID index", 16) + ": " + gid)
        pair("Mtu", "\(run.pathMTU)[B]", run.test == .read ? "Outstand reads" : "Max inline data",
             run.test == .read ? "\(run.outstandingReads)" : "\(run.inlineSize)[B]")
        pair("Completions", "\(run.polling)", "Warm-up", "\(run.warmupIterations) iterations per size, not reported")
        lines.append(" " + padded("Clock", 16) + ": " + "\(run.clock) (resolution \(run.clockResolutionNanoseconds) ns)")
        lines.append(" " + padded("Latency", 16) + ": "
                     + (run.test.tripsPerSample == 2 ? "half the round trip of a ping-pong" : "the full round trip of an RDMA read"))
        lines.append(separator)
        if let local = run.local {
            lines.append(" local address: " + addressText(local))
        } else {
            lines.append(" local address: QPN " + hex(run.localQueuePairNumber, digits: 4))
        }
        if let remote = run.remote {
            lines.append(" remote address: " + addressText(remote))
        } else if let number = run.remoteQueuePairNumber {
            lines.append(" remote address: QPN " + hex(number, digits: 4))
        }
        lines.append(separator)
        return lines.joined(separator: "\n")
    }

    /// One result row in perftest's REPORT_FMT_LAT layout.
    public static func row(_ summary: LatencySummary) -> String {
        " " + padded("\(summary.bytes)", 7) + " " + padded("\(summary.iterations)", 10) + "    "
            + padded(fixed(summary.minimum), 14) + " " + padded(fixed(summary.maximum), 14) + " "
            + padded(fixed(summary.typical), 16) + " " + padded(fixed(summary.average), 14) + " "
            + padded(fixed(summary.standardDeviation), 16) + " " + padded(fixed(summary.percentile99), 22) + " "
            + fixed(summary.percentile999)
    }

    /// The note a read server prints instead of rows.
    public static let readServerNote = " (the client measures RDMA read latency; this side only serves the reads)"

    /// The whole run as one JSON document.
    public static func json(_ run: RunDescription, results: [LatencySummary]) -> String {
        var fields: [(String, String)] = [
            ("tool", string("rdma-lat")),
            ("test", string("\(run.test)")),
            ("role", string(run.isServer ? "server" : "client")),
            ("device", string(run.device)),
            ("port", "\(run.port)"),
            ("gid_index", run.gidIndex.map { "\($0)" } ?? "null"),
            ("gid", run.gid.map { string("\($0)") } ?? "null"),
            ("gid_type", run.gidType.map(string) ?? "null"),
            ("mtu", "\(run.pathMTU)"),
            ("inline_size", "\(run.inlineSize)"),
            ("connection", string("RC")),
            ("exchange", string(run.exchange == .rdmaCM ? "rdma_cm" : "tcp")),
            ("peer", string(run.peer)),
            ("polling", string(run.polling == .busy ? "busy" : "events")),
            ("clock", string(run.clock)),
            ("clock_resolution_ns", "\(run.clockResolutionNanoseconds)"),
            ("units", string("usec")),
            ("latency", string(run.test.tripsPerSample == 2 ? "half round trip" : "round trip")),
            ("iterations", "\(run.iterations)"),
            ("warmup_iterations", "\(run.warmupIterations)"),
        ]
        let rows = results.map { summary in
            "    {\"bytes\": \(summary.bytes), \"iterations\": \(summary.iterations), "
                + "\"t_min\": \(fixed(summary.minimum, decimals: 3)), \"t_max\": \(fixed(summary.maximum, decimals: 3)), "
                + "\"t_typical\": \(fixed(summary.typical, decimals: 3)), \"t_avg\": \(fixed(summary.average, decimals: 3)), "
                + "\"t_stdev\": \(fixed(summary.standardDeviation, decimals: 3)), "
                + "\"t_stdev_exact\": \(fixed(summary.exactStandardDeviation, decimals: 3)), "
                + "\"p99\": \(fixed(summary.percentile99, decimals: 3)), \"p99_9\": \(fixed(summary.percentile999, decimals: 3))}"
        }
        fields.append(("results", rows.isEmpty ? "[]" : "[\n" + rows.joined(separator: ",\n") + "\n  ]"))
        return "{\n" + fields.map { "  \(string($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}"
    }

    // MARK: formatting

    /// `value` with `decimals` digits after the point, rounded half away from
    /// zero (as printf's %.Nf on these magnitudes), without Foundation.
    public static func fixed(_ value: Double, decimals: Int = 2) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale: Double = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e18 else { return String(value) }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        let fraction = units % UInt64(scale)
        var text = (value < 0 && units != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }

    /// A JSON string literal, escaped by JSONValue's printer.
    static func string(_ text: String) -> String { JSON.string(text).serialized }

    private static func addressText(_ address: QueuePairAddress) -> String {
        "LID \(hexDigits(UInt32(address.lid), 4)) QPN \(hex(address.queuePairNumber, digits: 4)) "
            + "PSN \(hex(address.packetSequenceNumber, digits: 6)) GID \(address.gid)"
    }

    private static func hex(_ value: UInt32, digits: Int) -> String { "0x" + hexDigits(value, digits) }

    private static func hexDigits(_ value: UInt32, _ digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func centered(_ text: String, width: Int) -> String {
        String(repeating: " ", count: max(0, (width - text.count) / 2)) + text
    }
}
