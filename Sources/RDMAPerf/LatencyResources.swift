#if canImport(Glibc)
import Glibc
#endif
import CIBVerbs

/// The registered buffer, laid out as
///
///     [ send region | receive region | control send slot | control receive slot ]
///
/// The send region is what this side sends or writes from; the receive region is
/// where the peer's sends land, where the peer writes, and what the peer reads.
/// The two control slots carry rdma_cm-mode control messages over the test QP.
struct BufferLayout {
    static let controlSlotSize = 64
    let regionSize: Int

    init(largestMessage: Int) {
        // Cache-line multiples keep the regions from sharing a line.
        regionSize = max(64, (largestMessage + 63) & ~63)
    }

    var sendOffset: Int { 0 }
    var receiveOffset: Int { regionSize }
    var controlSendOffset: Int { 2 * regionSize }
    var controlReceiveOffset: Int { 2 * regionSize + Self.controlSlotSize }
    var totalSize: Int {
        let size = 2 * regionSize + 2 * Self.controlSlotSize
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        return (size + page - 1) / page * page
    }
}

/// Work-request ids, to tell data from control completions.
enum WorkRequestID {
    static let data: UInt64 = 1
    static let control: UInt64 = 2
}

/// The verbs objects of one run: protection domain, buffer and memory region,
/// completion channel (with `--events`), send and receive CQs, and the RC QP.
/// The QP is made by whoever connects it: `ibv_create_qp` on the TCP path,
/// `rdma_create_qp` on the rdma_cm path; `destroyQueuePair` undoes it.
final class LatencyResources {
    let device: VerbsDevice
    let layout: BufferLayout
    let protectionDomain: UnsafeMutablePointer<ibv_pd>
    let buffer: UnsafeMutableRawPointer
    let memoryRegion: UnsafeMutablePointer<ibv_mr>
    let completionChannel: UnsafeMutablePointer<ibv_comp_channel>?
    let sendCQ: UnsafeMutablePointer<ibv_cq>
    let receiveCQ: UnsafeMutablePointer<ibv_cq>
    private(set) var queuePair: UnsafeMutablePointer<ibv_qp>?
    private var destroyQueuePair: ((UnsafeMutablePointer<ibv_qp>) -> Void)?

    /// Send-queue slots: data sends are signalled every `signalInterval`-th,
    /// so at most that many plus the control sends are ever outstanding.
    static let signalInterval = 16
    static let sendQueueDepth = 64
    /// Receives posted ahead; a ping-pong has one message in flight.
    static let receiveQueueDepth = 16

    init(device: VerbsDevice, largestMessage: Int, useEvents: Bool) throws {
        self.device = device
        layout = BufferLayout(largestMessage: largestMessage)
        guard let protectionDomain = ibv_alloc_pd(device.context) else {
            throw RDMAPerfError.CallFailed("ibv_alloc_pd(\(device.name))")
        }
        self.protectionDomain = protectionDomain
        var memory: UnsafeMutableRawPointer?
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let allocation = posix_memalign(&memory, page, layout.totalSize)
        guard allocation == 0, let memory else {
            ibv_dealloc_pd(protectionDomain)
            throw RDMAPerfError.CallFailed("posix_memalign(\(layout.totalSize) bytes)", errorNumber: allocation)
        }
        memset(memory, 0, layout.totalSize)
        buffer = memory
        let access = IBV_ACCESS_LOCAL_WRITE.rawValue | IBV_ACCESS_REMOTE_WRITE.rawValue | IBV_ACCESS_REMOTE_READ.rawValue
        guard let memoryRegion = ibv_reg_mr(protectionDomain, memory, layout.totalSize, Int32(access)) else {
            let error = errno
            free(memory)
            ibv_dealloc_pd(protectionDomain)
            throw RDMAPerfError.CallFailed("ibv_reg_mr(\(layout.totalSize) bytes)", errorNumber: error,
                                           context: "is the locked-memory limit (ulimit -l) large enough?")
        }
        self.memoryRegion = memoryRegion

        var channel: UnsafeMutablePointer<ibv_comp_channel>?
        if useEvents {
            channel = ibv_create_comp_channel(device.context)
            if channel == nil {
                let error = errno
                ibv_dereg_mr(memoryRegion); free(memory); ibv_dealloc_pd(protectionDomain)
                throw RDMAPerfError.CallFailed("ibv_create_comp_channel(\(device.name))", errorNumber: error)
            }
        }
        completionChannel = channel
        guard let sendCQ = ibv_create_cq(device.context, Int32(Self.sendQueueDepth + 4), nil, channel, 0) else {
            let error = errno
            if let channel { ibv_destroy_comp_channel(channel) }
            ibv_dereg_mr(memoryRegion); free(memory); ibv_dealloc_pd(protectionDomain)
            throw RDMAPerfError.CallFailed("ibv_create_cq(send)", errorNumber: error)
        }
        self.sendCQ = sendCQ
        guard let receiveCQ = ibv_create_cq(device.context, Int32(Self.receiveQueueDepth + 4), nil, channel, 0) else {
            let error = errno
            ibv_destroy_cq(sendCQ)
            if let channel { ibv_destroy_comp_channel(channel) }
            ibv_dereg_mr(memoryRegion); free(memory); ibv_dealloc_pd(protectionDomain)
            throw RDMAPerfError.CallFailed("ibv_create_cq(receive)", errorNumber: error)
        }
        self.receiveCQ = receiveCQ
    }

    deinit {
        if let queuePair, let destroyQueuePair { destroyQueuePair(queuePair) }
        ibv_destroy_cq(receiveCQ)
        ibv_destroy_cq(sendCQ)
        if let completionChannel { ibv_destroy_comp_channel(completionChannel) }
        ibv_dereg_mr(memoryRegion)
        free(buffer)
        ibv_dealloc_pd(protectionDomain)
    }

    /// What `ibv_create_qp` / `rdma_create_qp` get: an RC QP on our CQs.
    func queuePairInitAttributes(inlineSize: Int) -> ibv_qp_init_attr {
        var attributes = ibv_qp_init_attr()
        attributes.send_cq = sendCQ
        attributes.recv_cq = receiveCQ
        attributes.qp_type = IBV_QPT_RC
        attributes.sq_sig_all = 0
        attributes.cap.max_send_wr = UInt32(Self.sendQueueDepth)
        attributes.cap.max_recv_wr = UInt32(Self.receiveQueueDepth + 2)
        attributes.cap.max_send_sge = 1
        attributes.cap.max_recv_sge = 1
        attributes.cap.max_inline_data = UInt32(inlineSize)
        return attributes
    }

    /// Creates the QP with plain verbs (TCP side-channel path).
    func createQueuePair(inlineSize: Int) throws {
        var attributes = queuePairInitAttributes(inlineSize: inlineSize)
        guard let queuePair = ibv_create_qp(protectionDomain, &attributes) else {
            throw RDMAPerfError.CallFailed("ibv_create_qp(RC, max_inline_data \(inlineSize))",
                                           context: "try a smaller --inline-size")
        }
        adopt(queuePair: queuePair) { ibv_destroy_qp($0) }
    }

    /// Takes a QP made elsewhere (rdma_create_qp) with its destructor.
    func adopt(queuePair: UnsafeMutablePointer<ibv_qp>, destroy: @escaping (UnsafeMutablePointer<ibv_qp>) -> Void) {
        self.queuePair = queuePair
        destroyQueuePair = destroy
    }

    /// Destroys the QP now (before an rdma_cm id that owns it goes away).
    func releaseQueuePair() {
        if let queuePair, let destroyQueuePair { destroyQueuePair(queuePair) }
        queuePair = nil
        destroyQueuePair = nil
    }

    var receiveRegion: RemoteBuffer {
        RemoteBuffer(rkey: memoryRegion.pointee.rkey, address: UInt64(UInt(bitPattern: buffer + layout.receiveOffset)))
    }

    /// Zeroes the first `size` bytes of both data regions, so that no byte left
    /// by an earlier size can pass for a new arrival in the write test.
    func clearDataRegions(size: Int) {
        memset(buffer + layout.sendOffset, 0, size)
        memset(buffer + layout.receiveOffset, 0, size)
    }
}
