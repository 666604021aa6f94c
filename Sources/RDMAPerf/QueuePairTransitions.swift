import CIBVerbs

/// The RC state changes of the TCP side-channel path (IBTA 10.3, QP state
/// machine), with perftest's values: retry 7, RNR retry 7 (infinite),
/// local ACK timeout 14 (4.096 µs × 2^14 ≈ 67 ms), min RNR timer 12, hop limit 64.
enum QueuePairTransitions {
    static let ackTimeout: UInt8 = 14
    static let retryCount: UInt8 = 7
    static let rnrRetry: UInt8 = 7
    static let minRNRTimer: UInt8 = 12
    static let hopLimit: UInt8 = 64

    static func toInit(_ queuePair: UnsafeMutablePointer<ibv_qp>, port: UInt8) throws {
        var attributes = ibv_qp_attr()
        attributes.qp_state = IBV_QPS_INIT
        attributes.pkey_index = 0
        attributes.port_num = port
        attributes.qp_access_flags = IBV_ACCESS_LOCAL_WRITE.rawValue | IBV_ACCESS_REMOTE_WRITE.rawValue
            | IBV_ACCESS_REMOTE_READ.rawValue
        let mask = IBV_QP_STATE.rawValue | IBV_QP_PKEY_INDEX.rawValue | IBV_QP_PORT.rawValue | IBV_QP_ACCESS_FLAGS.rawValue
        let result = ibv_modify_qp(queuePair, &attributes, Int32(mask))
        guard result == 0 else { throw RDMAPerfError.CallFailed("ibv_modify_qp(INIT)", errorNumber: result) }
    }

    /// Ready to receive from `remote`, through the local GID `gidIndex`.
    static func toReadyToReceive(_ queuePair: UnsafeMutablePointer<ibv_qp>, port: UInt8, gidIndex: Int, remote: QueuePairAddress,
                                 pathMTU: ibv_mtu, outstandingReads: Int) throws {
        var attributes = ibv_qp_attr()
        attributes.qp_state = IBV_QPS_RTR
        attributes.path_mtu = pathMTU
        attributes.dest_qp_num = remote.queuePairNumber
        attributes.rq_psn = remote.packetSequenceNumber
        attributes.max_dest_rd_atomic = UInt8(clamping: outstandingReads)
        attributes.min_rnr_timer = minRNRTimer
        attributes.ah_attr.dlid = remote.lid
        attributes.ah_attr.sl = 0
        attributes.ah_attr.src_path_bits = 0
        attributes.ah_attr.port_num = port
        // RoCE always routes by GID (a GRH on every packet); IB may too.
        attributes.ah_attr.is_global = 1
        withUnsafeMutableBytes(of: &attributes.ah_attr.grh.dgid) { raw in
            for index in 0..<16 { raw[index] = remote.gid.bytes[index] }
        }
        attributes.ah_attr.grh.sgid_index = UInt8(clamping: gidIndex)
        attributes.ah_attr.grh.hop_limit = hopLimit
        attributes.ah_attr.grh.traffic_class = 0
        let mask = IBV_QP_STATE.rawValue | IBV_QP_AV.rawValue | IBV_QP_PATH_MTU.rawValue | IBV_QP_DEST_QPN.rawValue
            | IBV_QP_RQ_PSN.rawValue | IBV_QP_MAX_DEST_RD_ATOMIC.rawValue | IBV_QP_MIN_RNR_TIMER.rawValue
        let result = ibv_modify_qp(queuePair, &attributes, Int32(mask))
        guard result == 0 else {
            throw RDMAPerfError.CallFailed("ibv_modify_qp(RTR)", errorNumber: result,
                                           context: "remote QPN \(remote.queuePairNumber), GID \(remote.gid), GID index \(gidIndex)")
        }
    }

    static func toReadyToSend(_ queuePair: UnsafeMutablePointer<ibv_qp>, packetSequenceNumber: UInt32, outstandingReads: Int) throws {
        var attributes = ibv_qp_attr()
        attributes.qp_state = IBV_QPS_RTS
        attributes.timeout = ackTimeout
        attributes.retry_cnt = retryCount
        attributes.rnr_retry = rnrRetry
        attributes.sq_psn = packetSequenceNumber
        attributes.max_rd_atomic = UInt8(clamping: outstandingReads)
        let mask = IBV_QP_STATE.rawValue | IBV_QP_TIMEOUT.rawValue | IBV_QP_RETRY_CNT.rawValue | IBV_QP_RNR_RETRY.rawValue
            | IBV_QP_SQ_PSN.rawValue | IBV_QP_MAX_QP_RD_ATOMIC.rawValue
        let result = ibv_modify_qp(queuePair, &attributes, Int32(mask))
        guard result == 0 else { throw RDMAPerfError.CallFailed("ibv_modify_qp(RTS)", errorNumber: result) }
    }
}
