extension HostSnapshot {
    /// How many threads a scan reads sysfs on: the CPUs this process may run on, at most 8.
    public static var scanThreads: Int { scanWorkers }

    /// Reads the node. `names` adds pci.ids names; pass nil to skip the look-ups.
    /// `readGIDs` reads every GID and P_Key table (hundreds of files per ConnectX port): for
    /// `discover`, not for the daemon's frequent rescans.
    /// `portQuery` asks libibverbs for the ports of each RDMA device that opens; its answers
    /// replace sysfs's and each port records its source. Also for `discover` only: opening
    /// every device at every rescan costs far more than reading a few sysfs files.
    /// `detail`: `.forPools` leaves out the netdev and RDMA attributes no pool or health
    /// check reads, for the daemon's rescans (a third of a scan's syscalls on a node of VFs).
    /// `firmware` reads devlink device info (one netlink dump for the node): for the
    /// `ddpProfiles` selector and `discover`.
    public static func scan(roots: HostRoots = HostRoots(), names: (any PCINameLookup)? = nil, readGIDs: Bool = false,
                            portQuery: (any RDMAPortQuery)? = nil, firmware: (any FirmwareQuery)? = nil,
                            detail: ScanDetail = .all) -> HostSnapshot {
        let mark = ScanFaults.mark
        var snapshot = HostScanner(roots: roots, detail: detail).scanNode(names: names, readGIDs: readGIDs, portQuery: portQuery, firmware: firmware)
        snapshot.fault = ScanFaults.since(mark)
        return snapshot
    }

    /// Reads only `functions` and their PFs, with their netdevs and RDMA devices (a
    /// software RDMA device counts when it is bound to one of those netdevs): what a
    /// CNI call needs to know of one VF, without reading every function of a node
    /// of thousands. Look-ups about anything else find nothing.
    public static func scan(roots: HostRoots = HostRoots(), functions: Set<PCIAddress>) -> HostSnapshot {
        let mark = ScanFaults.mark
        var snapshot = HostScanner(roots: roots, detail: .all).scan(functions: functions)
        snapshot.fault = ScanFaults.since(mark)
        return snapshot
    }
}
