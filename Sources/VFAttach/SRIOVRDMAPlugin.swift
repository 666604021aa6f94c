import CNI

/// The CNI plugin of type `sriov-rdma`: SR-IOV VFs and their RDMA devices into pods.
public struct SRIOVRDMAPlugin: CNIPlugin {
    public var host: AttachHost
    /// Tests: see `AttachVF.faultInjection`.
    var faultInjection: ((ADDStep) throws -> Void)?

    public init(host: AttachHost = AttachHost()) {
        self.host = host
    }

    public func add(_ call: CNICall) throws -> CNIResult {
        let conf = try SRIOVNetConf(config: call.config, environment: call.environment)
        return try AttachVF(call: call, conf: conf, host: host, faultInjection: faultInjection).run()
    }

    public func delete(_ call: CNICall) throws {
        try DetachVF(call: call, host: host, stateDir: SRIOVNetConf.stateDir(call.config.json)).run()
    }

    public func check(_ call: CNICall) throws {
        let conf = try SRIOVNetConf(config: call.config, environment: call.environment)
        try CheckVF(call: call, conf: conf, host: host).run()
    }

    public func status(_ call: CNICall) throws {
        try StatusAndGC(call: call, host: host, stateDir: SRIOVNetConf.stateDir(call.config.json)).status()
    }

    public func garbageCollect(_ call: CNICall) throws {
        try StatusAndGC(call: call, host: host, stateDir: SRIOVNetConf.stateDir(call.config.json)).garbageCollect()
    }
}
