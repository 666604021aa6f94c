#if canImport(Glibc)
import Glibc
#endif
import CIBVerbs
import CRDMACM

/// One side of a latency run: set up, connect, agree, measure every size,
/// say goodbye. `connected` is called once before the first size, `measured`
/// after each size this side took samples for.
///
/// One size's result: perftest's summary and the samples it came from, in
/// microseconds, in the order they were taken (perftest's `-U`).
public struct LatencyMeasurement: Sendable {
    public var summary: LatencySummary
    public var samples: [Double]
}

public struct LatencyBenchmark {
    public let configuration: LatencyConfiguration

    public init(configuration: LatencyConfiguration) {
        self.configuration = configuration
    }

    public func run(connected: (RunDescription) -> Void, measured: (LatencyMeasurement) -> Void) throws {
        switch configuration.exchange {
        case .tcpSideChannel: try runOverTCP(connected: connected, measured: measured)
        case .rdmaCM: try runOverRDMACM(connected: connected, measured: measured)
        }
    }

    private var parameters: TestParameters { configuration.parameters }

    // MARK: TCP side channel

    private func runOverTCP(connected: (RunDescription) -> Void, measured: (LatencyMeasurement) -> Void) throws {
        let device = try VerbsDevice.open(name: configuration.deviceName)
        let port = try device.activePort(configuration.ibPort)
        let gid = try selectGID(device: device.name, port: port)
        let reads = try outstandingReads(device)
        let resources = try LatencyResources(device: device, largestMessage: parameters.sizes.largest,
                                             useEvents: configuration.polling == .events)
        try resources.createQueuePair(inlineSize: configuration.effectiveInlineSize)
        guard let queuePair = resources.queuePair else { throw RDMAPerfError.CallFailed("ibv_create_qp", errorNumber: EINVAL) }
        try QueuePairTransitions.toInit(queuePair, port: port.number)
        let local = QueuePairAddress(queuePairNumber: queuePair.pointee.qp_num,
                                     packetSequenceNumber: UInt32.random(in: 0..<(1 << 24)),
                                     lid: port.lid, mtu: UInt8(port.activeMTU.rawValue), gid: gid.gid)

        let connection: TCPConnection
        if let server = configuration.serverAddress {
            connection = try TCPConnection.connect(host: server, port: configuration.port, timeoutSeconds: configuration.timeoutSeconds)
        } else {
            let listener = try TCPListener(port: configuration.port)
            connection = try listener.accept(deadline: configuration.listenTimeoutSeconds.map { Deadline(secondsFromNow: $0) } ?? .never)
        }
        let control = TCPControlChannel(connection: connection, timeoutSeconds: configuration.timeoutSeconds)
        try control.send(.hello(Hello(parameters: parameters, buffer: resources.receiveRegion, queuePair: local)),
                         during: "the hello exchange")
        let reply = try control.receive(during: "the hello exchange")
        guard case .hello(let peer) = reply, let remote = peer.queuePair else {
            throw RDMAPerfError.UnexpectedMessage(expected: "a hello with queue-pair details", received: "\(reply)")
        }
        if let mismatch = parameters.mismatch(with: peer.parameters) { throw mismatch }

        let pathMTU = ibv_mtu(rawValue: min(UInt32(local.mtu), UInt32(remote.mtu)))
        try QueuePairTransitions.toReadyToReceive(queuePair, port: port.number, gidIndex: gid.index, remote: remote,
                                                  pathMTU: pathMTU, outstandingReads: reads)
        try QueuePairTransitions.toReadyToSend(queuePair, packetSequenceNumber: local.packetSequenceNumber, outstandingReads: reads)

        connected(RunDescription(
            test: parameters.test, isServer: configuration.isServer, device: device.name, port: port.number,
            gidIndex: gid.index, gid: gid.gid, gidType: gid.type, pathMTU: mtuBytes(pathMTU.rawValue),
            inlineSize: configuration.effectiveInlineSize, outstandingReads: reads, polling: configuration.polling,
            exchange: .tcpSideChannel, peer: connection.peerDescription, clock: MonotonicClock.name,
            clockResolutionNanoseconds: MonotonicClock.resolution(), iterations: parameters.iterations,
            warmupIterations: parameters.warmupIterations, localQueuePairNumber: local.queuePairNumber,
            local: local, remote: remote, remoteQueuePairNumber: remote.queuePairNumber))
        try measureAllSizes(resources: resources, queuePair: queuePair, remote: peer.buffer, control: control, measured: measured)
    }

    // MARK: rdma_cm

    private func runOverRDMACM(connected: (RunDescription) -> Void, measured: (LatencyMeasurement) -> Void) throws {
        let connection = try RDMACMConnection()
        let setUp = configuration.isServer ? try acceptOverRDMACM(connection) : try connectOverRDMACM(connection)
        let resources = setUp.resources
        let control = setUp.control
        let peer = setUp.peer
        // The QP goes before the id that owns it (the connection's deinit).
        defer { resources.releaseQueuePair() }
        guard let queuePair = resources.queuePair else { throw RDMAPerfError.CallFailed("rdma_create_qp", errorNumber: EINVAL) }

        var attributes = ibv_qp_attr()
        var initAttributes = ibv_qp_init_attr()
        let queried = ibv_query_qp(queuePair, &attributes, Int32(IBV_QP_PATH_MTU.rawValue | IBV_QP_AV.rawValue | IBV_QP_DEST_QPN.rawValue
                                                                   | IBV_QP_MAX_QP_RD_ATOMIC.rawValue), &initAttributes)
        let port = connection.id?.pointee.port_num ?? configuration.ibPort
        let gidIndex = queried == 0 ? Int(attributes.ah_attr.grh.sgid_index) : nil
        let gidEntry = gidIndex.flatMap { index in
            GIDTable.read(sysRoot: configuration.sysRoot, device: resources.device.name, port: Int(port)).entries.first { $0.index == index }
        }
        let peerName = configuration.serverAddress.map { "\($0):\(configuration.port)" }
            ?? connection.id.map { peerAddressText($0) } ?? "?"
        connected(RunDescription(
            test: parameters.test, isServer: configuration.isServer, device: resources.device.name, port: port,
            gidIndex: gidIndex, gid: gidEntry?.gid, gidType: gidEntry?.type,
            pathMTU: queried == 0 ? mtuBytes(attributes.path_mtu.rawValue) : 0,
            inlineSize: configuration.effectiveInlineSize, outstandingReads: queried == 0 ? Int(attributes.max_rd_atomic) : 0,
            polling: configuration.polling, exchange: .rdmaCM, peer: peerName, clock: MonotonicClock.name,
            clockResolutionNanoseconds: MonotonicClock.resolution(), iterations: parameters.iterations,
            warmupIterations: parameters.warmupIterations, localQueuePairNumber: queuePair.pointee.qp_num,
            local: nil, remote: nil, remoteQueuePairNumber: queried == 0 ? attributes.dest_qp_num : nil))
        try measureAllSizes(resources: resources, queuePair: queuePair, remote: peer.buffer, control: control, measured: measured)
        connection.disconnect()
    }

    /// What an rdma_cm set-up leaves: the verbs objects with their QP, the control
    /// channel over that QP (its first receive already posted), and the peer's hello.
    private struct RDMACMSetUp {
        var resources: LatencyResources
        var control: QueuePairControlChannel
        var peer: Hello
    }

    private func acceptOverRDMACM(_ connection: RDMACMConnection) throws -> RDMACMSetUp {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = configuration.port.bigEndian
        address.sin_addr.s_addr = INADDR_ANY
        if configuration.deviceName != nil {
            // Listen on the device's own address so requests for the other local devices are not ours.
            address.sin_addr = try deviceIPv4Address()
        }
        try connection.listen(address: address)
        let request = try connection.waitForRequest(
            deadline: configuration.listenTimeoutSeconds.map { Deadline(secondsFromNow: $0) } ?? .never)
        let (resources, control, myHello) = try makeResources(on: connection)
        let clientHello: Hello
        do {
            guard case .hello(let hello) = try ControlMessage.decode(request.privateData) else {
                throw RDMAPerfError.UnexpectedMessage(expected: "a hello in the connect request", received: "another message")
            }
            clientHello = hello
        } catch {
            connection.reject(privateData: myHello)
            throw error
        }
        if let mismatch = parameters.mismatch(with: clientHello.parameters) {
            connection.reject(privateData: myHello)
            throw mismatch
        }
        let reads = UInt8(clamping: try outstandingReads(resources.device))
        try connection.accept(privateData: myHello, responderResources: min(reads, max(1, request.initiatorDepth)),
                              initiatorDepth: min(reads, max(1, request.responderResources)),
                              deadline: Deadline(secondsFromNow: configuration.timeoutSeconds))
        return RDMACMSetUp(resources: resources, control: control, peer: clientHello)
    }

    private func connectOverRDMACM(_ connection: RDMACMConnection) throws -> RDMACMSetUp {
        guard let server = configuration.serverAddress else { throw RDMAPerfError.CallFailed("rdma_connect", errorNumber: EINVAL) }
        let destination = try resolveIPv4(host: server, port: configuration.port)
        var source: sockaddr_in?
        if configuration.deviceName != nil {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr = try deviceIPv4Address()
            source = address
        }
        let deadline = Deadline(secondsFromNow: configuration.timeoutSeconds)
        var lastError = "no attempt"
        var pause: Int32 = 10
        repeat {
            do {
                try connection.resolve(source: source, destination: destination, deadline: deadline)
            } catch let timeout as RDMAPerfError.PeerTimeout {
                // The address or route did not resolve before the deadline: nothing answered.
                connection.resetForRetry()
                lastError = "rdma_cm: no answer while waiting for \(timeout.waitingFor)"
                break
            }
            let (resources, control, myHello) = try makeResources(on: connection)
            let reads = UInt8(clamping: try outstandingReads(resources.device))
            let outcome = try connection.connect(privateData: myHello, responderResources: reads, initiatorDepth: reads,
                                                 deadline: deadline)
            switch outcome {
            case .established(let data):
                guard case .hello(let serverHello) = try ControlMessage.decode(data) else {
                    throw RDMAPerfError.UnexpectedMessage(expected: "a hello in the connect reply", received: "another message")
                }
                if let mismatch = parameters.mismatch(with: serverHello.parameters) { throw mismatch }
                return RDMACMSetUp(resources: resources, control: control, peer: serverHello)
            case .rejected(let status, let data):
                if status == RDMACMConnection.consumerRejectReason, case .hello(let serverHello)? = try? ControlMessage.decode(data) {
                    if let mismatch = parameters.mismatch(with: serverHello.parameters) { throw mismatch }
                    throw RDMAPerfError.UnexpectedMessage(expected: "an accept", received: "a rejection with matching parameters")
                }
                lastError = "rdma_cm connect rejected (reason \(status)\(status == 8 ? ": no listener" : ""))"
            case .unreachable(let reason):
                lastError = "rdma_cm: \(reason)"
            }
            resources.releaseQueuePair()
            connection.resetForRetry()
            if deadline.hasPassed { break }
            _ = poll(nil, 0, min(pause, max(0, deadline.pollTimeout)))
            pause = min(pause * 2, 200)
        } while !deadline.hasPassed
        throw RDMAPerfError.PeerUnreachable(host: server, port: configuration.port, seconds: configuration.timeoutSeconds,
                                           lastError: lastError)
    }

    /// The verbs objects on the device rdma_cm chose, the QP, an armed control
    /// receive, and this side's hello for the private data.
    private func makeResources(on connection: RDMACMConnection) throws -> (LatencyResources, QueuePairControlChannel, [UInt8]) {
        guard let id = connection.id, let verbs = connection.verbs else {
            throw RDMAPerfError.CallFailed("rdma_cm", errorNumber: ENODEV, context: "the connection has no device")
        }
        let device = VerbsDevice(borrowing: verbs)
        if let wanted = configuration.deviceName, wanted != device.name {
            throw RDMAPerfError.Unsupported(reason: "rdma_cm routes this connection through \(device.name), not \(wanted); "
                                            + "check the addresses and routes, or leave out -d")
        }
        _ = try device.activePort(id.pointee.port_num)
        let resources = try LatencyResources(device: device, largestMessage: parameters.sizes.largest,
                                             useEvents: configuration.polling == .events)
        var attributes = resources.queuePairInitAttributes(inlineSize: configuration.effectiveInlineSize)
        guard rdma_create_qp(id, resources.protectionDomain, &attributes) == 0, let queuePair = id.pointee.qp else {
            throw RDMAPerfError.CallFailed("rdma_create_qp(RC, max_inline_data \(configuration.effectiveInlineSize))")
        }
        resources.adopt(queuePair: queuePair) { _ in rdma_destroy_qp(id) }
        let control = QueuePairControlChannel(resources: resources, queuePair: queuePair, timeoutSeconds: configuration.timeoutSeconds)
        // Armed before the peer can send its first control message.
        try control.prepareReceive()
        let hello = ControlMessage.hello(Hello(parameters: parameters, buffer: resources.receiveRegion, queuePair: nil))
        return (resources, control, hello.encoded())
    }

    // MARK: the measured part

    private func measureAllSizes(resources: LatencyResources, queuePair: UnsafeMutablePointer<ibv_qp>, remote: RemoteBuffer,
                                 control: ControlChannel, measured: (LatencyMeasurement) -> Void) throws {
        let pingPong = PingPong(test: parameters.test, resources: resources, queuePair: queuePair, remote: remote,
                                polling: configuration.polling, inlineSize: configuration.effectiveInlineSize,
                                initiator: !configuration.isServer, iterations: parameters.iterations,
                                warmupIterations: parameters.warmupIterations, timeoutSeconds: configuration.timeoutSeconds)
        for size in parameters.sizes.sizes {
            try control.prepareReceive()
            try pingPong.prepare(size: size)
            try control.exchange(.ready(size: size), during: "the start of \(size) B")
            let postTimes = try pingPong.run(size: size)
            let trips = parameters.test.tripsPerSample
            if !postTimes.isEmpty, let summary = LatencyStatistics.summarize(postTimes: postTimes, bytes: size, tripsPerSample: trips) {
                measured(LatencyMeasurement(summary: summary, samples: LatencyStatistics.samples(postTimes: postTimes, tripsPerSample: trips)))
            }
        }
        try control.prepareReceive()
        try control.exchange(.done, during: "the end of the run")
    }

    // MARK: helpers

    private func selectGID(device: String, port: PortInfo) throws -> GIDEntry {
        let table = GIDTable.read(sysRoot: configuration.sysRoot, device: device, port: Int(port.number))
        if let index = configuration.gidIndex { return try table.entry(index: index) }
        if !port.isEthernet { return try table.entry(index: 0) }
        return try table.defaultEntry()
    }

    /// The IPv4 address of the chosen device's RoCE v2 GID, for rdma_cm to bind to.
    private func deviceIPv4Address() throws -> in_addr {
        let device = try VerbsDevice.open(name: configuration.deviceName)
        let port = try device.activePort(configuration.ibPort)
        let entry = try selectGID(device: device.name, port: port)
        guard let bytes = entry.gid.ipv4Address else {
            throw RDMAPerfError.Unsupported(reason: "GID \(entry.index) of \(device.name) is not an IPv4 GID; --rdma-cm needs one")
        }
        var address = in_addr()
        address.s_addr = (UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])).bigEndian
        return address
    }

    private func outstandingReads(_ device: VerbsDevice) throws -> Int {
        max(1, min(16, try device.maxOutstandingReads()))
    }
}

/// The peer's IPv4 address and port as rdma_cm saw them.
private func peerAddressText(_ id: UnsafeMutablePointer<rdma_cm_id>) -> String {
    guard let address = rdma_get_peer_addr(id) else { return "?" }
    guard address.pointee.sa_family == sa_family_t(AF_INET) else { return "?" }
    let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
    return ipv4Text(ipv4.sin_addr) + ":\(UInt16(bigEndian: ipv4.sin_port))"
}
