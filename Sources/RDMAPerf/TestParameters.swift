/// What both sides must agree on before any RDMA traffic: a server started for
/// `write` must not run against a client started for `send`.
public struct TestParameters: Sendable, Equatable {
    public var test: LatencyTest
    public var sizes: MessageSizes
    /// Timed iterations per size.
    public var iterations: Int
    /// Untimed iterations before the timed ones, per size.
    public var warmupIterations: Int

    public init(test: LatencyTest, sizes: MessageSizes, iterations: Int, warmupIterations: Int) {
        self.test = test
        self.sizes = sizes
        self.iterations = iterations
        self.warmupIterations = warmupIterations
    }

    /// The fields that differ from the peer's, or nil when the two sides agree.
    public func mismatch(with peer: TestParameters) -> ParameterMismatch? {
        var fields: [ParameterMismatch.Field] = []
        if test != peer.test { fields.append(.init(name: "test", local: "\(test)", peer: "\(peer.test)")) }
        if sizes != peer.sizes { fields.append(.init(name: "size", local: "\(sizes)", peer: "\(peer.sizes)")) }
        if iterations != peer.iterations {
            fields.append(.init(name: "iterations", local: "\(iterations)", peer: "\(peer.iterations)"))
        }
        if warmupIterations != peer.warmupIterations {
            fields.append(.init(name: "warm-up iterations", local: "\(warmupIterations)", peer: "\(peer.warmupIterations)"))
        }
        return fields.isEmpty ? nil : ParameterMismatch(fields: fields)
    }
}

/// The two sides asked for different runs. Both ends report it, each from its own view.
public struct ParameterMismatch: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var local: String
        public var peer: String
    }

    public var fields: [Field]

    public var description: String {
        let differences = fields.map { "\($0.name): this side \($0.local), peer \($0.peer)" }
        return "the two sides asked for different tests or sizes (\(differences.joined(separator: "; "))); "
            + "start both with the same test, size, --iters and --warmup"
    }
}
