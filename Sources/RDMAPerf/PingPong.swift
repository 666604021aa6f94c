#if canImport(Glibc)
import Glibc
#endif
import CIBVerbs
import CRDMAPerfSupport

/// The measured loops, shaped like perftest's (perftest_resources.c
/// run_iter_lat_send, run_iter_lat_write, run_iter_lat): the clock is read just
/// before each post, and a sample is the gap between two consecutive posts.
///
/// - send: the initiator posts a SEND, waits for the peer's SEND, posts the
///   next; the responder mirrors it. A sample is one round trip.
/// - write: the same with RDMA WRITE; arrival is seen by spinning on the last
///   byte of the receive region, which carries the iteration count.
/// - read: the initiator alone posts an RDMA READ and waits for its completion.
///
/// Between an arrival and the next post there is only the clock read: receives
/// are re-posted and send completions collected after the post, while the peer
/// is busy with the message (perftest re-posts the receive first). Data sends
/// are signalled every `LatencyResources.signalInterval`-th post only. Warm-up
/// iterations run first and are not timed. Everything the loops touch is
/// allocated before the first post.
final class PingPong {
    let test: LatencyTest
    let resources: LatencyResources
    let queuePair: UnsafeMutablePointer<ibv_qp>
    let remote: RemoteBuffer
    let polling: CompletionPolling
    let inlineSize: Int
    /// The side that posts first (the client).
    let initiator: Bool
    let iterations: Int
    let warmupIterations: Int
    let waiter: CompletionWaiter

    private let sendRequest: UnsafeMutablePointer<ibv_send_wr>
    private let sendScatter: UnsafeMutablePointer<ibv_sge>
    private let receiveRequest: UnsafeMutablePointer<ibv_recv_wr>
    private let receiveScatter: UnsafeMutablePointer<ibv_sge>
    private let badSend: UnsafeMutablePointer<UnsafeMutablePointer<ibv_send_wr>?>
    private let badReceive: UnsafeMutablePointer<UnsafeMutablePointer<ibv_recv_wr>?>
    private let completion: UnsafeMutablePointer<ibv_wc>
    private let postTimes: UnsafeMutablePointer<UInt64>
    /// Receives posted for the current size (send test).
    private var postedReceives = 0

    init(test: LatencyTest, resources: LatencyResources, queuePair: UnsafeMutablePointer<ibv_qp>, remote: RemoteBuffer,
         polling: CompletionPolling, inlineSize: Int, initiator: Bool, iterations: Int, warmupIterations: Int,
         timeoutSeconds: Double) {
        self.test = test
        self.resources = resources
        self.queuePair = queuePair
        self.remote = remote
        self.polling = polling
        self.inlineSize = inlineSize
        self.initiator = initiator
        self.iterations = iterations
        self.warmupIterations = warmupIterations
        sendRequest = .allocate(capacity: 1)
        sendRequest.initialize(to: ibv_send_wr())
        sendScatter = .allocate(capacity: 1)
        sendScatter.initialize(to: ibv_sge())
        receiveRequest = .allocate(capacity: 1)
        receiveRequest.initialize(to: ibv_recv_wr())
        receiveScatter = .allocate(capacity: 1)
        receiveScatter.initialize(to: ibv_sge())
        badSend = .allocate(capacity: 1)
        badSend.initialize(to: nil)
        badReceive = .allocate(capacity: 1)
        badReceive.initialize(to: nil)
        completion = .allocate(capacity: 1)
        completion.initialize(to: ibv_wc())
        postTimes = .allocate(capacity: max(1, iterations))
        postTimes.initialize(repeating: 0, count: max(1, iterations))
        waiter = CompletionWaiter(completion: completion, channel: resources.completionChannel, timeoutSeconds: timeoutSeconds)

        let base = resources.buffer
        let lkey = resources.memoryRegion.pointee.lkey
        // A read lands in the local receive region; sends and writes leave from the send region.
        let source = test == .read ? base + resources.layout.receiveOffset : base + resources.layout.sendOffset
        sendScatter.pointee = ibv_sge(addr: UInt64(UInt(bitPattern: source)), length: 0, lkey: lkey)
        sendRequest.pointee.wr_id = WorkRequestID.data
        sendRequest.pointee.sg_list = sendScatter
        sendRequest.pointee.num_sge = 1
        switch test {
        case .send: sendRequest.pointee.opcode = IBV_WR_SEND
        case .write: sendRequest.pointee.opcode = IBV_WR_RDMA_WRITE
        case .read: sendRequest.pointee.opcode = IBV_WR_RDMA_READ
        }
        sendRequest.pointee.wr.rdma.remote_addr = remote.address
        sendRequest.pointee.wr.rdma.rkey = remote.rkey
        receiveScatter.pointee = ibv_sge(addr: UInt64(UInt(bitPattern: base + resources.layout.receiveOffset)),
                                         length: UInt32(resources.layout.regionSize), lkey: lkey)
        receiveRequest.pointee.wr_id = WorkRequestID.data
        receiveRequest.pointee.sg_list = receiveScatter
        receiveRequest.pointee.num_sge = 1
    }

    deinit {
        sendRequest.deallocate()
        sendScatter.deallocate()
        receiveRequest.deallocate()
        receiveScatter.deallocate()
        badSend.deallocate()
        badReceive.deallocate()
        completion.deallocate()
        postTimes.deallocate()
    }

    private var total: Int { warmupIterations + iterations }

    /// Whether this side runs a loop for the test (a read needs no responder CPU).
    var takesSamples: Bool { initiator || test.serverMeasures }

    /// Readies this side for `size` before telling the peer so: clears the data
    /// regions and, for the send test, posts the first receives. Must come
    /// after the control channel armed its own receive (the receive queue is FIFO).
    func prepare(size: Int) throws {
        resources.clearDataRegions(size: size)
        postedReceives = 0
        guard test == .send else { return }
        for _ in 0..<min(LatencyResources.receiveQueueDepth, total) { try postReceive() }
    }

    /// Runs one size; the post times of the timed iterations (empty when this side only serves reads).
    func run(size: Int) throws -> [UInt64] {
        sendScatter.pointee.length = UInt32(size)
        switch test {
        case .send: try runPingPong(size: size, arrival: .receiveCompletion)
        case .write: try runPingPong(size: size, arrival: .lastByte)
        case .read:
            guard initiator else { return [] }
            try runReads()
        }
        return Array(UnsafeBufferPointer(start: postTimes, count: iterations))
    }

    private enum Arrival { case receiveCompletion, lastByte }

    private func runPingPong(size: Int, arrival: Arrival) throws {
        let total = self.total
        let warmup = warmupIterations
        let interval = LatencyResources.signalInterval
        let inlineFlag = size <= inlineSize ? IBV_SEND_INLINE.rawValue : 0
        let signaledFlags = inlineFlag | IBV_SEND_SIGNALED.rawValue
        let pollByte = UnsafeRawPointer(resources.buffer + resources.layout.receiveOffset + size - 1)
        let postByte = resources.buffer + resources.layout.sendOffset + size - 1
        var sent = 0
        var received = 0
        var unreapedSignals = 0
        let receiveDepth = LatencyResources.receiveQueueDepth
        while sent < total || received < total {
            // The critical path is arrival, clock, post. The responder waits
            // first; the initiator only after its first post.
            if received < total && !(sent == 0 && initiator) {
                switch arrival {
                case .receiveCompletion:
                    let completion = try waiter.wait(resources.receiveCQ, polling: polling,
                                                     waitingFor: "the peer's send \(received + 1) of \(total)")
                    guard completion.status == IBV_WC_SUCCESS else {
                        throw RDMAPerfError.CompletionFailed(operation: "receive", status: completionStatusName(completion.status),
                                                             iteration: received + 1)
                    }
                    guard completion.wr_id == WorkRequestID.data else {
                        throw RDMAPerfError.UnexpectedMessage(expected: "data message \(received + 1) of \(total)",
                                                              received: "a control message")
                    }
                case .lastByte:
                    try waitForByte(pollByte, UInt8(truncatingIfNeeded: received + 1), iteration: received + 1, of: total)
                }
                received += 1
            }
            if sent < total {
                if sent >= warmup { postTimes[sent - warmup] = MonotonicClock.nanoseconds() }
                sent += 1
                let signaled = sent % interval == 0 || sent == total
                sendRequest.pointee.send_flags = signaled ? signaledFlags : inlineFlag
                if arrival == .lastByte { rdmaperf_store_volatile_u8(postByte, UInt8(truncatingIfNeeded: sent)) }
                let result = ibv_post_send(queuePair, sendRequest, badSend)
                guard result == 0 else {
                    throw RDMAPerfError.CallFailed("ibv_post_send(\(test), \(size) B)", errorNumber: result,
                                                   context: "iteration \(sent)")
                }
                if signaled { unreapedSignals += 1 }
            }
            // Bookkeeping while the peer handles our message: top the receive
            // queue up again and collect send completions (normally already
            // there: a reply implies the peer acknowledged our earlier sends).
            if arrival == .receiveCompletion && postedReceives < total && postedReceives - received < receiveDepth {
                try postReceive()
            }
            while unreapedSignals > 0, let completion = try waiter.poll(resources.sendCQ) {
                try checkSend(completion, iteration: sent)
                unreapedSignals -= 1
            }
            // Never let unretired sends approach the send queue's depth.
            while unreapedSignals * interval >= LatencyResources.sendQueueDepth - interval {
                try checkSend(try waiter.busyWait(resources.sendCQ, waitingFor: "\(test) completions"), iteration: sent)
                unreapedSignals -= 1
            }
        }
        while unreapedSignals > 0 {
            let completion = try waiter.busyWait(resources.sendCQ, waitingFor: "the last \(test) completions")
            try checkSend(completion, iteration: sent)
            unreapedSignals -= 1
        }
    }

    private func runReads() throws {
        let total = self.total
        let warmup = warmupIterations
        sendRequest.pointee.send_flags = IBV_SEND_SIGNALED.rawValue
        for index in 0..<total {
            if index >= warmup { postTimes[index - warmup] = MonotonicClock.nanoseconds() }
            let result = ibv_post_send(queuePair, sendRequest, badSend)
            guard result == 0 else {
                throw RDMAPerfError.CallFailed("ibv_post_send(read)", errorNumber: result, context: "iteration \(index + 1)")
            }
            let completion = try waiter.wait(resources.sendCQ, polling: polling,
                                             waitingFor: "RDMA read \(index + 1) of \(total)")
            try checkSend(completion, iteration: index + 1)
        }
    }

    @inline(__always)
    private func waitForByte(_ address: UnsafeRawPointer, _ expected: UInt8, iteration: Int, of total: Int) throws {
        var budget = SpinBudget(timeoutSeconds: waiter.timeoutSeconds)
        while rdmaperf_load_volatile_u8(address) != expected {
            if budget.emptyPollTimedOut() {
                throw RDMAPerfError.PeerTimeout(waitingFor: "the peer's write \(iteration) of \(total)", seconds: waiter.timeoutSeconds)
            }
        }
    }

    private func checkSend(_ completion: ibv_wc, iteration: Int) throws {
        guard completion.status == IBV_WC_SUCCESS else {
            throw RDMAPerfError.CompletionFailed(operation: "\(test)", status: completionStatusName(completion.status),
                                                 iteration: iteration)
        }
        guard completion.wr_id == WorkRequestID.data else {
            throw RDMAPerfError.UnexpectedMessage(expected: "a \(test) completion", received: "a control completion")
        }
    }

    private func postReceive() throws {
        let result = ibv_post_recv(queuePair, receiveRequest, badReceive)
        guard result == 0 else { throw RDMAPerfError.CallFailed("ibv_post_recv", errorNumber: result) }
        postedReceives += 1
    }
}
