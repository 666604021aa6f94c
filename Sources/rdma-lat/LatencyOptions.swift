import ArgumentParser
import RDMAPerf

/// The options every test takes; the short names are perftest's.
struct LatencyOptions: ParsableArguments {
    @Option(name: [.customShort("d"), .customLong("ib-dev")], help: "RDMA device (default: the first; see `rdma-lat devices`).")
    var device: String?

    @Option(name: [.customShort("i"), .customLong("ib-port")], help: "Port of the device.")
    var ibPort: UInt8 = 1

    @Option(name: [.customShort("x"), .customLong("gid-index")],
            help: "GID index (default: the RoCE v2 GID of the netdev's IPv4 address).")
    var gidIndex: Int?

    @Option(name: [.customShort("s"), .long], help: "Message size in bytes.")
    var size: Int = 2

    @Flag(name: [.customShort("a"), .long], help: "Run every power of two from 2 B to --max-size.")
    var all = false

    @Option(name: .customLong("max-size"), help: "Largest size for --all, a power of two (8388608 is 8 MiB).")
    var maxSize: Int = MessageSizes.largestAll

    @Option(name: [.customShort("n"), .customLong("iters")], help: "Timed iterations per size.")
    var iterations: Int = 1000

    @Option(name: .long, help: "Untimed iterations before the timed ones, per size.")
    var warmup: Int = 16

    @Option(name: [.customShort("I"), .customLong("inline-size")],
            help: "Largest message sent inline (default 236 for send, 220 for write).")
    var inlineSize: Int?

    @Flag(name: [.customShort("e"), .long], help: "Sleep on a completion channel instead of busy polling (send, read).")
    var events = false

    @Option(name: [.customShort("p"), .long], help: "TCP port of the side channel, or the rdma_cm port.")
    var port: UInt16 = 18515

    @Flag(name: [.customShort("R"), .customLong("rdma-cm")], help: "Connect the QPs through librdmacm.")
    var rdmaCM = false

    @Flag(name: [.customShort("U"), .customLong("report-unsorted")],
          help: "Print every sample (microseconds, in the order taken) before each size's row.")
    var reportUnsorted = false

    @Flag(help: "Print the results as one JSON document.")
    var json = false

    @Option(help: "Seconds to wait for the peer: to connect, and for any message or completion after that.")
    var timeout: Double = 30

    @Option(name: .customLong("listen-timeout"), help: "Seconds the server waits for a client (default: no limit).")
    var listenTimeout: Double?

    @Flag(name: [.customShort("F"), .customLong("CPU-freq")],
          help: "Accepted for perftest compatibility; rdma-lat reads a clock, not the CPU frequency.")
    var ignoreCPUFrequency = false

    @Argument(help: "The server's address; without it this side is the server.")
    var server: String?

    func validate(for test: LatencyTest) throws {
        if all {
            guard maxSize >= MessageSizes.smallest, maxSize <= MessageSizes.largestAll, maxSize & (maxSize - 1) == 0 else {
                throw ValidationError("--max-size must be a power of two from 2 to \(MessageSizes.largestAll), not \(maxSize)")
            }
        } else {
            guard size >= 1, size <= MessageSizes.largestAll else {
                throw ValidationError("--size must be from 1 to \(MessageSizes.largestAll) bytes, not \(size)")
            }
        }
        guard iterations >= 5, iterations <= 100_000_000 else {
            throw ValidationError("--iters must be from 5 to 100000000, not \(iterations) (perftest's minimum is 5)")
        }
        guard warmup >= 0, warmup <= 1_000_000 else { throw ValidationError("--warmup must be from 0 to 1000000") }
        if let inlineSize, inlineSize < 0 || inlineSize > 4096 {
            throw ValidationError("--inline-size must be from 0 to 4096, not \(inlineSize)")
        }
        if events && test == .write {
            throw ValidationError("--events does not apply to write: the write test sees arrivals by polling memory (as ib_write_lat)")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        if let listenTimeout, listenTimeout <= 0 { throw ValidationError("--listen-timeout must be positive") }
    }

    func configuration(for test: LatencyTest) -> LatencyConfiguration {
        let sizes: MessageSizes = all ? .powersOfTwo(upTo: maxSize) : .single(size)
        var configuration = LatencyConfiguration(parameters: TestParameters(
            test: test, sizes: sizes, iterations: iterations, warmupIterations: warmup))
        configuration.deviceName = device
        configuration.ibPort = ibPort
        configuration.gidIndex = gidIndex
        configuration.inlineSize = test == .read ? 0 : inlineSize
        configuration.polling = events ? .events : .busy
        configuration.exchange = rdmaCM ? .rdmaCM : .tcpSideChannel
        configuration.serverAddress = server
        configuration.port = port
        configuration.timeoutSeconds = timeout
        configuration.listenTimeoutSeconds = listenTimeout
        return configuration
    }
}
