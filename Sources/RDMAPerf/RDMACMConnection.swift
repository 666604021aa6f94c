#if canImport(Glibc)
import Glibc
#endif
import SystemSupport
import CIBVerbs
import CRDMACM

/// One rdma_cm event, copied out before it is acknowledged (rdma_get_cm_event(3)).
struct ConnectionManagerEvent {
    var type: rdma_cm_event_type
    var status: Int32
    var id: UnsafeMutablePointer<rdma_cm_id>?
    var privateData: [UInt8]
    var responderResources: UInt8
    var initiatorDepth: UInt8

    var name: String { String(cString: rdma_event_str(type)) }
}

/// The librdmacm side of `--rdma-cm` (perftest's -R): address and route
/// resolution, an RC QP made by rdma_create_qp, and the hello carried as
/// private data of the connect request and its reply or rejection.
final class RDMACMConnection {
    /// IBTA CM REJ reason 28: the consumer (our server) rejected, private data attached.
    static let consumerRejectReason: Int32 = 28

    let channel: UnsafeMutablePointer<rdma_event_channel>
    private var listenID: UnsafeMutablePointer<rdma_cm_id>?
    private(set) var id: UnsafeMutablePointer<rdma_cm_id>?

    init() throws {
        guard let channel = rdma_create_event_channel() else {
            throw RDMAPerfError.CallFailed("rdma_create_event_channel", context: "is the rdma_ucm module loaded (/dev/infiniband/rdma_cm)?")
        }
        self.channel = channel
    }

    deinit {
        if let id {
            if id.pointee.qp != nil { rdma_destroy_qp(id) }
            rdma_destroy_id(id)
        }
        if let listenID { rdma_destroy_id(listenID) }
        rdma_destroy_event_channel(channel)
    }

    /// The verbs context librdmacm chose for the connection.
    var verbs: UnsafeMutablePointer<ibv_context>? { id?.pointee.verbs }

    // MARK: server

    func listen(address: sockaddr_in) throws {
        var listening: UnsafeMutablePointer<rdma_cm_id>?
        guard rdma_create_id(channel, &listening, nil, RDMA_PS_TCP) == 0, let listening else {
            throw RDMAPerfError.CallFailed("rdma_create_id")
        }
        listenID = listening
        var bindAddress = address
        let bound = withUnsafeMutablePointer(to: &bindAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { rdma_bind_addr(listening, $0) }
        }
        guard bound == 0 else {
            throw RDMAPerfError.CallFailed("rdma_bind_addr(\(ipv4Text(address.sin_addr)):\(UInt16(bigEndian: address.sin_port)))",
                                           context: "is the address on an RDMA device's netdev, and the port free?")
        }
        guard rdma_listen(listening, 1) == 0 else { throw RDMAPerfError.CallFailed("rdma_listen") }
    }

    /// Waits for a connect request; the new id becomes this connection's.
    func waitForRequest(deadline: Deadline) throws -> ConnectionManagerEvent {
        while true {
            let event = try nextEvent(deadline: deadline, waitingFor: "an rdma_cm connect request")
            if event.type == RDMA_CM_EVENT_CONNECT_REQUEST {
                id = event.id
                return event
            }
        }
    }

    func accept(privateData: [UInt8], responderResources: UInt8, initiatorDepth: UInt8, deadline: Deadline) throws {
        guard let id else { throw RDMAPerfError.CallFailed("rdma_accept", errorNumber: EINVAL, context: "no request") }
        try withConnectionParameters(privateData, responderResources: responderResources, initiatorDepth: initiatorDepth) {
            guard rdma_accept(id, &$0) == 0 else { throw RDMAPerfError.CallFailed("rdma_accept") }
        }
        let event = try nextEvent(deadline: deadline, waitingFor: "the rdma_cm connection to be established")
        guard event.type == RDMA_CM_EVENT_ESTABLISHED else {
            throw RDMAPerfError.CallFailed("rdma_accept", errorNumber: 0,
                                           context: "got \(event.name) (status \(event.status)) instead of ESTABLISHED")
        }
    }

    /// The parameters rdma_accept and rdma_connect take: RNR retry 7 (infinite, as
    /// perftest), and the transport retry count, which only the connecting side sets.
    private func withConnectionParameters(_ privateData: [UInt8], responderResources: UInt8, initiatorDepth: UInt8,
                                          retryCount: UInt8 = 0, _ body: (inout rdma_conn_param) throws -> Void) throws {
        try privateData.withUnsafeBytes { data in
            var parameters = rdma_conn_param()
            parameters.private_data = data.baseAddress
            parameters.private_data_len = UInt8(data.count)
            parameters.responder_resources = responderResources
            parameters.initiator_depth = initiatorDepth
            parameters.retry_count = retryCount
            parameters.rnr_retry_count = 7
            try body(&parameters)
        }
    }

    func reject(privateData: [UInt8]) {
        guard let id else { return }
        _ = privateData.withUnsafeBytes { rdma_reject(id, $0.baseAddress, UInt8($0.count)) }
    }

    // MARK: client

    /// Resolves the address and route to `destination`, from `source` when given
    /// (the chosen device's IPv4 address, so that rdma_cm picks that device).
    func resolve(source: sockaddr_in?, destination: sockaddr_in, deadline: Deadline) throws {
        var created: UnsafeMutablePointer<rdma_cm_id>?
        guard rdma_create_id(channel, &created, nil, RDMA_PS_TCP) == 0, let created else {
            throw RDMAPerfError.CallFailed("rdma_create_id")
        }
        id = created
        var from = source ?? sockaddr_in()
        var to = destination
        let timeoutMilliseconds: Int32 = 2000
        let resolving = withUnsafeMutablePointer(to: &from) { fromPointer in
            withUnsafeMutablePointer(to: &to) { toPointer in
                fromPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { fromAddress in
                    toPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { toAddress in
                        rdma_resolve_addr(created, source == nil ? nil : fromAddress, toAddress, timeoutMilliseconds)
                    }
                }
            }
        }
        guard resolving == 0 else { throw RDMAPerfError.CallFailed("rdma_resolve_addr(\(ipv4Text(destination.sin_addr)))") }
        try expect(RDMA_CM_EVENT_ADDR_RESOLVED, deadline: deadline, waitingFor: "rdma_cm address resolution")
        guard rdma_resolve_route(created, timeoutMilliseconds) == 0 else { throw RDMAPerfError.CallFailed("rdma_resolve_route") }
        try expect(RDMA_CM_EVENT_ROUTE_RESOLVED, deadline: deadline, waitingFor: "rdma_cm route resolution")
    }

    enum ConnectOutcome {
        case established(peerPrivateData: [UInt8])
        case rejected(status: Int32, peerPrivateData: [UInt8])
        case unreachable(String)
    }

    func connect(privateData: [UInt8], responderResources: UInt8, initiatorDepth: UInt8, deadline: Deadline) throws -> ConnectOutcome {
        guard let id else { throw RDMAPerfError.CallFailed("rdma_connect", errorNumber: EINVAL, context: "no route") }
        try withConnectionParameters(privateData, responderResources: responderResources, initiatorDepth: initiatorDepth,
                                     retryCount: 7) {
            guard rdma_connect(id, &$0) == 0 else { throw RDMAPerfError.CallFailed("rdma_connect") }
        }
        let event: ConnectionManagerEvent
        do {
            event = try nextEvent(deadline: deadline, waitingFor: "the rdma_cm connect reply")
        } catch is RDMAPerfError.PeerTimeout {
            // The deadline came before any answer (a REJECT from a host without a listener
            // can take a while under emulation): nobody answered in time.
            return .unreachable("no reply to the connect request before the deadline")
        }
        switch event.type {
        case RDMA_CM_EVENT_ESTABLISHED: return .established(peerPrivateData: event.privateData)
        case RDMA_CM_EVENT_REJECTED: return .rejected(status: event.status, peerPrivateData: event.privateData)
        default: return .unreachable("\(event.name) (status \(event.status))")
        }
    }

    func disconnect() {
        if let id { rdma_disconnect(id) }
    }

    /// Tears down the id (and its QP) so that a new attempt can start.
    func resetForRetry() {
        if let id {
            if id.pointee.qp != nil { rdma_destroy_qp(id) }
            rdma_destroy_id(id)
        }
        id = nil
    }

    // MARK: events

    private func expect(_ type: rdma_cm_event_type, deadline: Deadline, waitingFor what: String) throws {
        let event = try nextEvent(deadline: deadline, waitingFor: what)
        guard event.type == type else {
            throw RDMAPerfError.CallFailed(what, errorNumber: event.status < 0 ? -event.status : 0,
                                           context: "got \(event.name) (status \(event.status))")
        }
    }

    func nextEvent(deadline: Deadline, waitingFor what: String) throws -> ConnectionManagerEvent {
        var waiting = pollfd(fd: channel.pointee.fd, events: Int16(POLLIN), revents: 0)
        let ready = retryingOnInterrupt { poll(&waiting, 1, deadline.pollTimeout) }
        if ready == 0 { throw RDMAPerfError.PeerTimeout(waitingFor: what, seconds: deadline.seconds) }
        if ready < 0 { throw RDMAPerfError.CallFailed("poll(rdma_cm channel)") }
        var received: UnsafeMutablePointer<rdma_cm_event>?
        guard rdma_get_cm_event(channel, &received) == 0, let received else {
            throw RDMAPerfError.CallFailed("rdma_get_cm_event")
        }
        defer { rdma_ack_cm_event(received) }
        let event = received.pointee
        var privateData: [UInt8] = []
        if let data = event.param.conn.private_data, event.param.conn.private_data_len > 0 {
            privateData = Array(UnsafeRawBufferPointer(start: data, count: Int(event.param.conn.private_data_len)))
        }
        return ConnectionManagerEvent(type: event.event, status: event.status, id: event.id, privateData: privateData,
                                      responderResources: event.param.conn.responder_resources,
                                      initiatorDepth: event.param.conn.initiator_depth)
    }
}
