import HostDevices

/// Builds the pools: a pure function of the configuration and a snapshot. Exclusive
/// pools claim devices in config order, and within a pool in selector order; a
/// device claimed once is not offered again (SRIOV-DP's rule). Shared RDMA pools
/// claim nothing.
public struct PoolAssignment: Equatable, Sendable {
    public var pools: [ResourcePool]
    /// Network and accelerator functions in no pool, with the reasons; empty unless `explained`.
    public var excluded: [ExcludedDevice]

    /// `explained`: also say why each device left out of every pool was passed over
    /// (`excluded`, for `discover`). The daemon's rescans need only the pools, and
    /// skip formatting a reason for nearly every device and pool.
    public init(config: PoolsConfig, snapshot: HostSnapshot, explained: Bool = true) {
        var pfNames: [PCIAddress: String] = [:]
        for pf in snapshot.physicalFunctions { pfNames[pf.address] = snapshot.pfName(of: pf.address) }
        let facts = snapshot.pciDevices.map { DeviceFacts($0, snapshot: snapshot, pfNames: pfNames) }
        // Scalable functions, only when a pool asks for them. Their PFs' names once per
        // PF, not per SF: a PF's netdevs include a representor per SF.
        var auxiliaryFacts: [DeviceFacts] = []
        if config.pools.contains(where: { $0.deviceType == .auxNetDevice }) {
            let functions = snapshot.scalableFunctions
            for parent in Set(functions.map(\.parentAddress)) where pfNames[parent] == nil { pfNames[parent] = snapshot.pfName(of: parent) }
            auxiliaryFacts = functions.compactMap { function in
                snapshot.device(at: function.parentAddress).map {
                    DeviceFacts(auxiliary: function, parent: $0, pfName: pfNames[$0.address], snapshot: snapshot)
                }
            }
        }
        var auxiliaryClaimedBy: [String: String] = [:]
        var auxiliaryReasons: [String: [String]] = [:]

        var claimedBy: [PCIAddress: String] = [:]
        var sharedBy: Set<PCIAddress> = []
        var reasons: [PCIAddress: [String]] = [:]
        var pools: [ResourcePool] = []
        for config in config.pools {
            // By position: a DeviceFacts is large, and copying one per pool and device
            // is most of the cost of assigning thousands of VFs.
            if config.deviceType == .auxNetDevice {
                let candidates = auxiliaryFacts.indices.filter { Self.isCandidate(auxiliaryFacts[$0], for: config.deviceType) }
                let chosen = Self.choose(config, from: auxiliaryFacts, candidates: candidates, key: { $0.auxiliary?.name ?? "" },
                                         claims: &auxiliaryClaimedBy, reasons: &auxiliaryReasons, explained: explained)
                pools.append(Self.pool(config, chosen.map { auxiliaryFacts[$0] }))
                continue
            }
            let candidates = facts.indices.filter { Self.isCandidate(facts[$0], for: config.deviceType) }
            let chosen = Self.choose(config, from: facts, candidates: candidates, key: \.device.address, claims: &claimedBy,
                                     reasons: &reasons, explained: explained)
            if config.deviceType == .rdmaShared { for position in chosen { sharedBy.insert(facts[position].device.address) } }
            pools.append(Self.pool(config, chosen.map { facts[$0] }))
        }

        var excluded: [ExcludedDevice] = []
        // A function whose RDMA device a shared pool hands out is in use, not left out.
        for candidate in facts where explained && Self.isNetworkOrAccelerator(candidate.device) && claimedBy[candidate.device.address] == nil
            && !sharedBy.contains(candidate.device.address) {
            var why = reasons[candidate.device.address] ?? []
            if let sriov = candidate.device.sriov, sriov.enabledVFs > 0 {
                why.insert("PF with \(sriov.enabledVFs) VFs enabled: its VFs are the allocatable devices", at: 0)
            }
            if candidate.device.driver == nil {
                why.insert("no driver bound: a container could use neither a netdev nor vfio/uio (bind one, e.g. vfio-pci)", at: 0)
            }
            excluded.append(ExcludedDevice(address: candidate.device.address, reasons: why.isEmpty ? ["no pool configured"] : why))
        }
        // A scalable function some auxNetDevice pool passed over.
        for candidate in auxiliaryFacts where explained {
            guard let auxiliary = candidate.auxiliary, auxiliaryClaimedBy[auxiliary.name] == nil else { continue }
            var why = auxiliaryReasons[auxiliary.name] ?? []
            if candidate.device.driver == nil { why.insert("its PF \(auxiliary.parentAddress) has no driver bound", at: 0) }
            excluded.append(ExcludedDevice(address: auxiliary.parentAddress, auxiliaryDevice: auxiliary.name, reasons: why))
        }
        self.pools = pools
        self.excluded = excluded
    }

    /// The candidates (positions in `facts`) `config`'s selectors take, in order. An
    /// exclusive pool skips what an earlier pool claimed and claims what it takes; a
    /// shared RDMA pool claims nothing.
    private static func choose<Key: Hashable>(_ config: PoolConfig, from facts: [DeviceFacts], candidates: [Int], key: (DeviceFacts) -> Key,
                                              claims: inout [Key: String], reasons: inout [Key: [String]], explained: Bool) -> [Int] {
        let exclusive = config.deviceType != .rdmaShared
        var chosen: [Int] = []
        for position in candidates {
            let id = key(facts[position])
            if exclusive, let owner = claims[id] {
                if explained { reasons[id, default: []].append("\(config.qualifiedName): already in \(owner)") }
                continue
            }
            if let mismatch = mismatch(facts[position], config.selectors, explained: explained) {
                if explained { reasons[id, default: []].append("\(config.qualifiedName): \(mismatch)") }
                continue
            }
            chosen.append(position)
            if exclusive { claims[id] = config.qualifiedName }
        }
        return chosen
    }

    /// nil when some selector takes the device; else the last selector's reason.
    private static func mismatch(_ facts: DeviceFacts, _ selectors: [Selector], explained: Bool) -> String? {
        var lastMismatch: String?
        for selector in selectors {
            guard let mismatch = selector.mismatch(facts, explained: explained) else { return nil }
            lastMismatch = mismatch
        }
        return lastMismatch
    }

    private static func isNetworkOrAccelerator(_ device: PCIDevice) -> Bool {
        device.classCode >> 16 == 0x02 || device.classCode >> 16 == 0x12
    }

    private static func isCandidate(_ facts: DeviceFacts, for type: DeviceType) -> Bool {
        // An unbound function gives a container nothing to open (SRIOV-DP drops it
        // too, with only an error line; here `excluded` says why).
        guard facts.device.driver != nil else { return false }
        switch type {
        case .netDevice:
            // A PF whose VFs are enabled is not offered itself (as in SRIOV-DP).
            return facts.device.classCode >> 16 == 0x02 && (facts.device.sriov?.enabledVFs ?? 0) == 0
        case .accelerator:
            return facts.device.classCode >> 16 == 0x12
        case .auxNetDevice:
            // `device` is the SF's PF, whose driver is the one checked above.
            return facts.auxiliary != nil
        case .rdmaShared:
            return facts.device.classCode >> 16 == 0x02 && !facts.rdma.isEmpty
        }
    }

    private static func pool(_ config: PoolConfig, _ chosen: [DeviceFacts]) -> ResourcePool {
        if config.deviceType == .rdmaShared {
            var seen: Set<String> = []
            let rdma = chosen.flatMap(\.rdma).filter { seen.insert($0.name).inserted }
            let slots = rdma.isEmpty ? 0 : (config.rdmaHcaMax ?? 0)
            let devices = (0..<slots).map {
                PoolDevice(id: String($0), pciAddress: nil, numaNode: nil, pfAddress: nil, driver: nil, netdevs: [], rdmaDevices: rdma.map(\.name))
            }
            return ResourcePool(config: config, devices: devices, sharedRDMADevices: rdma)
        }
        let devices = chosen.map { facts in
            if let auxiliary = facts.auxiliary {
                // NUMA from the parent PF, as SRIOV-DP takes it.
                return PoolDevice(id: auxiliary.name, pciAddress: nil, numaNode: config.excludeTopology ? nil : facts.device.numaNode,
                                  pfAddress: facts.device.address, driver: facts.device.driver, netdevs: facts.netdevs.map(\.name),
                                  rdmaDevices: facts.rdma.map(\.name), auxiliaryDevice: auxiliary.name)
            }
            return PoolDevice(id: facts.device.address.description, pciAddress: facts.device.address,
                       numaNode: config.excludeTopology ? nil : facts.device.numaNode,
                       pfAddress: facts.pfAddress, driver: facts.device.driver,
                       netdevs: facts.netdevs.map(\.name), rdmaDevices: facts.rdma.map(\.name))
        }
        return ResourcePool(config: config, devices: devices, sharedRDMADevices: [])
    }
}
