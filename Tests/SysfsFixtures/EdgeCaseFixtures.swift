/// Small hand-made nodes, one per case that trips discovery up (issue #5). Each is
/// the least sysfs that shows the case; tests pin what discovery and the pools make
/// of it. Addresses and names are given here so tests can spell them out.
public enum EdgeCaseFixtures {
    /// An InfiniBand ConnectX-6 PF (0000:5e:00.0, IPoIB netdev ibp94s0, mlx5_0) with
    /// three VFs whose port-1 P_Key tables the subnet manager filled differently:
    /// VF 0 (0000:5e:00.2, mlx5_1) `0xffff 0x7fff`, the default partition;
    /// VF 1 (0000:5e:00.3, mlx5_2) `0x8001 0x7fff 0x0000`, partition 1 as full member;
    /// VF 2 (0000:5e:00.4, mlx5_3) `0x0001`, partition 1 as limited member.
    public static func infiniBandPartitions() throws -> SysfsFixture {
        let tree = try SysfsFixture()
        let pf = try tree.pciFunction("0000:5e:00.0", vendor: "0x15b3", device: "0x101b", classCode: "0x020700",
                                      driver: "mlx5_core", numaNode: 0)
        try tree.write("\(pf)/sriov_totalvfs", "8")
        try tree.write("\(pf)/sriov_numvfs", "3")
        try tree.netdev("ibp94s0", under: pf, mtu: 4092, mac: "00:00:10:49:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:5e:00:00", type: 32)
        var uverbs = 0
        try SRIOVNodeFixture.rdmaDevice(tree, "mlx5_0", under: pf, netdev: "ibp94s0", index: &uverbs,
                                        linkLayer: "InfiniBand", pKeys: ["0xffff", "0x7fff"])
        let tables = [["0xffff", "0x7fff"], ["0x8001", "0x7fff", "0x0000"], ["0x0001"]]
        for (index, pKeys) in tables.enumerated() {
            let address = "0000:5e:00.\(2 + index)"
            let vf = try tree.pciFunction(address, vendor: "0x15b3", device: "0x101c", classCode: "0x020700",
                                          driver: "mlx5_core", numaNode: 0)
            try tree.link("\(pf)/virtfn\(index)", to: "../\(address)")
            try tree.link("\(vf)/physfn", to: "../0000:5e:00.0")
            let name = "ibp94s0v\(index)"
            try tree.netdev(name, under: vf, mtu: 4092, mac: "00:00:10:49:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:5e:00:0\(2 + index)",
                            type: 32)
            try SRIOVNodeFixture.rdmaDevice(tree, "mlx5_\(index + 1)", under: vf, netdev: name, index: &uverbs,
                                            linkLayer: "InfiniBand", pKeys: pKeys)
        }
        return tree
    }
}
