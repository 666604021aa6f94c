import CNI

/// The CNI plugin of type `sriov-rdma`: SR-IOV VFs and their RDMA devices into pods;
/// also types `sriov` (sriov-cni's defaults), `ib-sriov` (InfiniBand VFs) and the
/// chained `rdma` (`PluginType`).
public struct SRIOVRDMAPlugin: CNIPlugin {
    public var host: AttachHost
    /// Tests: see `AttachVF.faultInjection`.
    var faultInjection: ((ADDStep) throws -> Void)?

    public init(host: AttachHost = AttachHost()) {
        self.host = host
    }

    public func add(_ call: CNICall) throws -> CNIResult {
        try LegacyState.migrate(into: SRIOVNetConf.stateDir(call.config.json), logger: call.logger)
        switch PluginType(call.config.type) {
        case .rdmaChained: return try ChainedRDMA(call: call, host: host).add()
        case .ibSRIOV, .sriovRDMA, .sriov: break
        }
        if AttachDRA.isDRA(call.config) { return try AttachDRA(call: call, host: host).add() }
        let conf = try netConf(call)
        return try AttachVF(call: call, conf: conf, host: host, faultInjection: faultInjection).run()
    }

    public func delete(_ call: CNICall) throws {
        try LegacyState.migrate(into: SRIOVNetConf.stateDir(call.config.json), logger: call.logger)
        if PluginType(call.config.type) == .rdmaChained { return try ChainedRDMA(call: call, host: host).delete() }
        if AttachDRA.isDRA(call.config) { return try AttachDRA(call: call, host: host).delete() }
        try DetachVF(call: call, host: host, stateDir: SRIOVNetConf.stateDir(call.config.json)).run()
    }

    public func check(_ call: CNICall) throws {
        try LegacyState.migrate(into: SRIOVNetConf.stateDir(call.config.json), logger: call.logger)
        switch PluginType(call.config.type) {
        case .rdmaChained: return try ChainedRDMA(call: call, host: host).check()
        case .ibSRIOV, .sriovRDMA, .sriov: break
        }
        if AttachDRA.isDRA(call.config) { return try AttachDRA(call: call, host: host).check() }
        try CheckVF(call: call, conf: try netConf(call), host: host).run()
    }

    /// The config of ADD and CHECK: InfiniBand keys refused outside ib-sriov, other
    /// unknown keys named in a warning (a key this plugin would silently ignore is not
    /// ignored silently).
    private func netConf(_ call: CNICall) throws(CNIError) -> SRIOVNetConf {
        let type = PluginType(call.config.type)
        let unknown = try SRIOVNetConf.unservedKeys(call.config.json, type: type, typeName: call.config.type)
        if !unknown.isEmpty {
            call.logger.warning("ignoring config keys this plugin does not know: \(unknown.joined(separator: ", "))")
        }
        return try SRIOVNetConf(config: call.config, environment: call.environment,
                                defaultRDMAIsolation: type == .sriovRDMA, infiniBand: type == .ibSRIOV)
    }

    public func status(_ call: CNICall) throws {
        try LegacyState.migrate(into: SRIOVNetConf.stateDir(call.config.json), logger: call.logger)
        try StatusAndGC(call: call, host: host, stateDir: SRIOVNetConf.stateDir(call.config.json)).status()
    }

    public func garbageCollect(_ call: CNICall) throws {
        try LegacyState.migrate(into: SRIOVNetConf.stateDir(call.config.json), logger: call.logger)
        try StatusAndGC(call: call, host: host, stateDir: SRIOVNetConf.stateDir(call.config.json)).garbageCollect()
    }
}
