#if canImport(Glibc)
import Glibc
#endif
import CIBVerbs

/// How the two sides talk outside the measured traffic: the hello (TCP path),
/// a `ready` before each size and a `done` at the end.
protocol ControlChannel: AnyObject {
    /// Called before this side posts the receives of a phase. The QP channel
    /// posts its control receive here, ahead of the data receives, because a
    /// receive queue is consumed in order.
    func prepareReceive() throws
    func send(_ message: ControlMessage, during: String) throws
    func receive(during: String) throws -> ControlMessage
}

extension ControlChannel {
    /// Both sides send `message` and expect the same kind back: a barrier.
    func exchange(_ message: ControlMessage, during: String) throws {
        try send(message, during: during)
        let reply = try receive(during: during)
        switch (message, reply) {
        case (.ready(let size), .ready(let peerSize)) where size == peerSize: return
        case (.done, .done): return
        default: throw RDMAPerfError.UnexpectedMessage(expected: "\(message)", received: "\(reply)")
        }
    }
}

/// The TCP side channel (perftest's default exchange).
final class TCPControlChannel: ControlChannel {
    let connection: TCPConnection
    let timeoutSeconds: Double

    init(connection: TCPConnection, timeoutSeconds: Double) {
        self.connection = connection
        self.timeoutSeconds = timeoutSeconds
    }

    func prepareReceive() throws {}

    func send(_ message: ControlMessage, during: String) throws {
        try connection.send(message.encoded(), deadline: Deadline(secondsFromNow: timeoutSeconds), during: during)
    }

    func receive(during: String) throws -> ControlMessage {
        let deadline = Deadline(secondsFromNow: timeoutSeconds)
        let header = try connection.receive(count: ControlMessage.headerLength, deadline: deadline, during: during)
        let length = try ControlMessage.bodyLength(ofHeader: header)
        let body = try connection.receive(count: length, deadline: deadline, during: during)
        return try ControlMessage.decode(header + body)
    }
}

/// Control messages as SENDs over the test QP itself (rdma_cm path), through
/// the buffer's two control slots. Only used between phases, never timed.
final class QueuePairControlChannel: ControlChannel {
    let resources: LatencyResources
    let queuePair: UnsafeMutablePointer<ibv_qp>
    let timeoutSeconds: Double
    private var receivePosted = false

    init(resources: LatencyResources, queuePair: UnsafeMutablePointer<ibv_qp>, timeoutSeconds: Double) {
        self.resources = resources
        self.queuePair = queuePair
        self.timeoutSeconds = timeoutSeconds
    }

    func prepareReceive() throws {
        guard !receivePosted else { return }
        var scatter = ibv_sge(addr: UInt64(UInt(bitPattern: resources.buffer + resources.layout.controlReceiveOffset)),
                              length: UInt32(BufferLayout.controlSlotSize), lkey: resources.memoryRegion.pointee.lkey)
        try withUnsafeMutablePointer(to: &scatter) { scatter in
            var request = ibv_recv_wr()
            request.wr_id = WorkRequestID.control
            request.sg_list = scatter
            request.num_sge = 1
            var bad: UnsafeMutablePointer<ibv_recv_wr>?
            let result = ibv_post_recv(queuePair, &request, &bad)
            guard result == 0 else { throw RDMAPerfError.CallFailed("ibv_post_recv(control)", errorNumber: result) }
        }
        receivePosted = true
    }

    func send(_ message: ControlMessage, during: String) throws {
        let bytes = message.encoded()
        precondition(bytes.count <= BufferLayout.controlSlotSize, "control messages over the QP fit a slot")
        let slot = resources.buffer + resources.layout.controlSendOffset
        bytes.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var scatter = ibv_sge(addr: UInt64(UInt(bitPattern: slot)), length: UInt32(bytes.count),
                              lkey: resources.memoryRegion.pointee.lkey)
        try withUnsafeMutablePointer(to: &scatter) { scatter in
            var request = ibv_send_wr()
            request.wr_id = WorkRequestID.control
            request.sg_list = scatter
            request.num_sge = 1
            request.opcode = IBV_WR_SEND
            request.send_flags = IBV_SEND_SIGNALED.rawValue
            var bad: UnsafeMutablePointer<ibv_send_wr>?
            let result = ibv_post_send(queuePair, &request, &bad)
            guard result == 0 else { throw RDMAPerfError.CallFailed("ibv_post_send(control)", errorNumber: result) }
        }
        let completion = try waitControlCompletion(resources.sendCQ, during: during)
        guard completion.status == IBV_WC_SUCCESS else {
            throw RDMAPerfError.CompletionFailed(operation: "control send (\(during))",
                                                 status: completionStatusName(completion.status), iteration: 0)
        }
        // Every signalled data send was reaped before the phase ended.
        guard completion.wr_id == WorkRequestID.control else {
            throw RDMAPerfError.UnexpectedMessage(expected: "the control send's completion (\(during))", received: "a data completion")
        }
    }

    func receive(during: String) throws -> ControlMessage {
        try prepareReceive()
        let completion = try waitControlCompletion(resources.receiveCQ, during: during)
        receivePosted = false
        guard completion.status == IBV_WC_SUCCESS else {
            throw RDMAPerfError.CompletionFailed(operation: "control receive (\(during))",
                                                 status: completionStatusName(completion.status), iteration: 0)
        }
        guard completion.wr_id == WorkRequestID.control else {
            throw RDMAPerfError.UnexpectedMessage(expected: "a control message (\(during))", received: "a data message")
        }
        let slot = UnsafeRawBufferPointer(start: resources.buffer + resources.layout.controlReceiveOffset,
                                          count: Int(completion.byte_len))
        return try ControlMessage.decode(Array(slot))
    }

    private func waitControlCompletion(_ cq: UnsafeMutablePointer<ibv_cq>, during: String) throws -> ibv_wc {
        var completion = ibv_wc()
        return try withUnsafeMutablePointer(to: &completion) { pointer in
            let waiter = CompletionWaiter(completion: pointer, channel: nil, timeoutSeconds: timeoutSeconds)
            return try waiter.busyWait(cq, waitingFor: "the peer during \(during)")
        }
    }
}
