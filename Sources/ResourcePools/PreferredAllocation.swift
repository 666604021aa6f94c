import HostDevices

extension ResourcePool {
    /// kubelet's GetPreferredAllocation: from `available`, always `mustInclude`, then
    /// up to `size` devices preferring one NUMA node, then spreading across PFs (or
    /// packing, per the pool's policy). Deterministic for the same inputs.
    public func preferredAllocation(available: [String], mustInclude: [String], size: Int) -> [String] {
        let availableSet = Set(available)
        var chosen: [String] = []
        for id in mustInclude where availableSet.contains(id) && !chosen.contains(id) { chosen.append(id) }
        guard chosen.count < size else { return Array(chosen.prefix(max(size, chosen.count))) }

        let candidates = available.filter { !chosen.contains($0) }.compactMap { device($0) }
            .sorted { ($0.pciAddress.map { $0.description } ?? $0.id, $0.id) < ($1.pciAddress.map { $0.description } ?? $1.id, $1.id) }
        let needed = size - chosen.count

        // NUMA: keep the must-include node if it has room, else the node with the
        // most candidates that can hold the rest on its own.
        var pool = candidates
        let byNode = Dictionary(grouping: candidates) { $0.numaNode ?? -1 }
        let pinnedNodes = Set(chosen.compactMap { device($0)?.numaNode })
        let fitting = byNode.filter { $0.key >= 0 && $0.value.count >= needed }
        if pinnedNodes.count == 1, let node = pinnedNodes.first, let devices = fitting[node] {
            pool = devices
        } else if let best = fitting.max(by: { ($0.value.count, -$0.key) < ($1.value.count, -$1.key) }) {
            pool = best.value
        }

        var usage: [String: Int] = [:]
        for id in chosen { usage[device(id)?.pfAddress?.description ?? "", default: 0] += 1 }
        var remaining = pool
        while chosen.count < size, !remaining.isEmpty {
            let pfs = Dictionary(grouping: remaining) { $0.pfAddress?.description ?? "" }
            let pick: String
            switch config.allocationPolicy {
            case .spread:
                pick = pfs.keys.min { (usage[$0, default: 0], $0) < (usage[$1, default: 0], $1) }!
            case .pack:
                pick = pfs.keys.min { (-usage[$0, default: 0], pfs[$0]!.count, $0) < (-usage[$1, default: 0], pfs[$1]!.count, $1) }!
            }
            let next = pfs[pick]!.first!
            chosen.append(next.id)
            usage[pick, default: 0] += 1
            remaining.removeAll { $0.id == next.id }
        }
        return chosen
    }
}
