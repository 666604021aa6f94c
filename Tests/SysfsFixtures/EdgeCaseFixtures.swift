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
        var uverbs = 0
        try infiniBandPF(tree, index: &uverbs, pfPKeys: ["0xffff", "0x7fff"], pfNodeGUID: nil, vfs: [
            (["0xffff", "0x7fff"], nil), (["0x8001", "0x7fff", "0x0000"], nil), (["0x0001"], nil),
        ])
        return tree
    }

    /// The InfiniBand ConnectX-6 PF 0000:5e:00.0 (ibp94s0, mlx5_0) with one VF per entry of
    /// `vfs` (0000:5e:00.2 on, ibp94s0vN, mlx5_N+1), each with its P_Key table and node GUID.
    static func infiniBandPF(_ tree: SysfsFixture, index uverbs: inout Int, pfPKeys: [String], pfNodeGUID: String?,
                             vfs: [(pKeys: [String], nodeGUID: String?)]) throws {
        let pf = try tree.pciFunction("0000:5e:00.0", vendor: "0x15b3", device: "0x101b", classCode: "0x020700",
                                      driver: "mlx5_core", numaNode: 0)
        try tree.sriov(pf, totalVFs: 8, numVFs: vfs.count)
        try tree.netdev("ibp94s0", under: pf, mtu: 4092, mac: "00:00:10:49:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:5e:00:00", type: 32)
        try SRIOVNodeFixture.rdmaDevice(tree, "mlx5_0", under: pf, netdev: "ibp94s0", index: &uverbs,
                                        linkLayer: "InfiniBand", pKeys: pfPKeys, nodeGUID: pfNodeGUID)
        for (index, vf) in vfs.enumerated() {
            let address = "0000:5e:00.\(2 + index)"
            let directory = try tree.pciFunction(address, vendor: "0x15b3", device: "0x101c", classCode: "0x020700",
                                                 driver: "mlx5_core", numaNode: 0)
            try tree.linkVF(directory, address: address, index: index, pfDir: pf, pfAddress: "0000:5e:00.0")
            let name = "ibp94s0v\(index)"
            try tree.netdev(name, under: directory, mtu: 4092,
                            mac: "00:00:10:49:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:5e:00:0\(2 + index)", type: 32)
            try SRIOVNodeFixture.rdmaDevice(tree, "mlx5_\(index + 1)", under: directory, netdev: name, index: &uverbs,
                                            linkLayer: "InfiniBand", pKeys: vf.pKeys, nodeGUID: vf.nodeGUID)
        }
    }

    /// An InfiniBand ConnectX-6 PF (0000:5e:00.0, IPoIB netdev ibp94s0, mlx5_0, node
    /// GUID `0c42:a103:005e:0000`) with three VFs and the node GUIDs VFs have in the field:
    /// VF 0 (0000:5e:00.2, mlx5_1) `0000:0000:0000:0000`, none assigned (network-operator #1825);
    /// VF 1 (0000:5e:00.3, mlx5_2) `0c42:a103:005e:0003`, one the administrator set;
    /// VF 2 (0000:5e:00.4, mlx5_3) `ffff:ffff:ffff:ffff`, what ib-sriov-cni's DEL writes back.
    /// Beside it a RoCE ConnectX-6 Dx VF (0000:3b:00.2, mlx5_4, PF 0000:3b:00.0 with no RDMA
    /// device) whose node GUID is all zeros too: RoCE needs none.
    public static func infiniBandGUIDs() throws -> SysfsFixture {
        let tree = try SysfsFixture()
        var uverbs = 0
        try infiniBandPF(tree, index: &uverbs, pfPKeys: ["0xffff"], pfNodeGUID: "0c42:a103:005e:0000", vfs: [
            (["0xffff"], "0000:0000:0000:0000"), (["0xffff"], "0c42:a103:005e:0003"), (["0xffff"], "ffff:ffff:ffff:ffff"),
        ])
        let rocePF = try tree.pciFunction("0000:3b:00.0", vendor: "0x15b3", device: "0x101d", classCode: "0x020000",
                                          driver: "mlx5_core", numaNode: 0)
        try tree.sriov(rocePF, totalVFs: 8, numVFs: 1)
        try tree.netdev("ens1f0", under: rocePF, mtu: 1500, mac: "0c:42:a1:3b:00:00")
        let roceVF = try tree.pciFunction("0000:3b:00.2", vendor: "0x15b3", device: "0x101e", classCode: "0x020000",
                                          driver: "mlx5_core", numaNode: 0)
        try tree.linkVF(roceVF, address: "0000:3b:00.2", index: 0, pfDir: rocePF, pfAddress: "0000:3b:00.0")
        try tree.netdev("ens1f0v0", under: roceVF, mtu: 1500, mac: "02:00:00:3b:00:02")
        try SRIOVNodeFixture.rdmaDevice(tree, "mlx5_4", under: roceVF, netdev: "ens1f0v0", index: &uverbs,
                                        nodeGUID: "0000:0000:0000:0000")
        try tree.write("dev/infiniband/rdma_cm", "")
        return tree
    }

    /// Two Intel I350 functions on a platform that reports no NUMA node (`numa_node`
    /// -1, as on single-socket hosts and most VMs): 0000:02:00.0 bound to igb with
    /// netdev enp2s0f0, and 0000:02:00.1 with no driver bound (no `driver` link, no netdev).
    public static func unboundAndNoNUMA() throws -> SysfsFixture {
        let tree = try SysfsFixture()
        let bound = try tree.pciFunction("0000:02:00.0", vendor: "0x8086", device: "0x1521", classCode: "0x020000",
                                         driver: "igb", numaNode: -1)
        try tree.netdev("enp2s0f0", under: bound, mtu: 1500, mac: "a0:36:9f:00:00:01")
        try tree.pciFunction("0000:02:00.1", vendor: "0x8086", device: "0x1521", classCode: "0x020000", driver: nil, numaNode: -1)
        return tree
    }

    /// A ConnectX-5 PF in switchdev mode (0000:3b:00.0): its uplink ens1f0np0
    /// (phys_port_name `p0`) shares the PF's `net/` with the representors of its two
    /// VFs, ens1f0_0 and ens1f0_1 (`pf0vf0`, `pf0vf1`), which sort first as in
    /// SRIOV-DP #383. The VFs 0000:3b:00.2 and 0000:3b:00.3 have netdevs ens1f0v0, ens1f0v1.
    public static func switchdevRepresentors() throws -> SysfsFixture {
        let tree = try SysfsFixture()
        let pf = try tree.pciFunction("0000:3b:00.0", vendor: "0x15b3", device: "0x1017", classCode: "0x020000",
                                      driver: "mlx5_core", numaNode: 0)
        try tree.sriov(pf, totalVFs: 8, numVFs: 2)
        try tree.netdev("ens1f0np0", under: pf, mtu: 9000, mac: "0c:42:a1:3b:00:00", physPortName: "p0")
        for index in 0..<2 {
            let address = "0000:3b:00.\(2 + index)"
            let vf = try tree.pciFunction(address, vendor: "0x15b3", device: "0x1018", classCode: "0x020000",
                                          driver: "mlx5_core", numaNode: 0)
            try tree.linkVF(vf, address: address, index: index, pfDir: pf, pfAddress: "0000:3b:00.0")
            try tree.netdev("ens1f0v\(index)", under: vf, mtu: 9000, mac: "02:00:00:3b:00:0\(index)")
            try tree.netdev("ens1f0_\(index)", under: pf, mtu: 9000, mac: "6e:00:00:3b:00:0\(index)", physPortName: "pf0vf\(index)")
        }
        return tree
    }

    /// Soft-RoCE with no PCI parent: rxe0 on netdev enp1s0v0 of igbvf VF 0000:01:10.0
    /// (VF 0 of igb PF 0000:01:00.0, netdev enp1s0), and rxe1 on bridge br0, a virtual
    /// netdev with no device at all. Both register uverbs0/uverbs1.
    public static func softRoCE() throws -> SysfsFixture {
        let tree = try SysfsFixture()
        let pf = try tree.pciFunction("0000:01:00.0", vendor: "0x8086", device: "0x10c9", classCode: "0x020000",
                                      driver: "igb", numaNode: 0)
        try tree.sriov(pf, totalVFs: 7, numVFs: 1)
        try tree.netdev("enp1s0", under: pf, mtu: 1500, mac: "52:54:00:12:34:56")
        let vf = try tree.pciFunction("0000:01:10.0", vendor: "0x8086", device: "0x10ca", classCode: "0x020000",
                                      driver: "igbvf", numaNode: 0)
        try tree.linkVF(vf, address: "0000:01:10.0", index: 0, pfDir: pf, pfAddress: "0000:01:00.0")
        try tree.netdev("enp1s0v0", under: vf, mtu: 1500, mac: "02:00:00:00:00:00")
        // A bridge: devices/virtual/net/br0 with no `device` link.
        try tree.write("devices/virtual/net/br0/mtu", "1500")
        try tree.write("devices/virtual/net/br0/address", "02:00:00:00:00:b0")
        try tree.write("devices/virtual/net/br0/operstate", "up")
        try tree.write("devices/virtual/net/br0/type", "1")
        try tree.link("class/net/br0", to: "../../devices/virtual/net/br0")
        for (index, netdev) in ["enp1s0v0", "br0"].enumerated() {
            let dir = "devices/virtual/infiniband/rxe\(index)"
            try tree.write("\(dir)/node_type", "1: CA")
            try tree.write("\(dir)/ports/1/state", "4: ACTIVE")
            try tree.write("\(dir)/ports/1/link_layer", "Ethernet")
            try tree.write("\(dir)/ports/1/pkeys/0", "0xffff")
            try tree.write("\(dir)/ports/1/gid_attrs/ndevs/0", netdev)
            try tree.write("\(dir)/ports/1/gid_attrs/ndevs/1", netdev)
            try tree.link("class/infiniband/rxe\(index)", to: "../../\(dir)")
            // A device with no parent: its char device is virtual too.
            try tree.write("devices/virtual/infiniband_verbs/uverbs\(index)/ibdev", "rxe\(index)")
            try tree.link("class/infiniband_verbs/uverbs\(index)", to: "../../devices/virtual/infiniband_verbs/uverbs\(index)")
            try tree.write("dev/infiniband/uverbs\(index)", "")
        }
        try tree.write("dev/infiniband/rdma_cm", "")
        return tree
    }

    /// An igb PF (0000:01:00.0, enp1s0) with three igbvf VFs, as after a CNI moved two
    /// VFs' netdevs into pods: VF 0 (0000:01:10.0) still has enp1s0v0 here; VF 1
    /// (0000:01:10.2) has the empty `net/` the kernel leaves behind (sysfs lists only
    /// this namespace's netdevs); VF 2 (0000:01:10.4) has no `net/` at all. VF 3
    /// (0000:01:10.6) is bound to vfio-pci, so it has no netdev by design.
    public static func netdevInOtherNamespace() throws -> SysfsFixture {
        let tree = try SysfsFixture()
        let pf = try tree.pciFunction("0000:01:00.0", vendor: "0x8086", device: "0x10c9", classCode: "0x020000",
                                      driver: "igb", numaNode: 0)
        try tree.sriov(pf, totalVFs: 7, numVFs: 4)
        // The 82576's SR-IOV capability: VF N at routing ID 0x100 + 128 + 2N.
        try tree.write("\(pf)/sriov_offset", "128")
        try tree.write("\(pf)/sriov_stride", "2")
        try tree.netdev("enp1s0", under: pf, mtu: 1500, mac: "52:54:00:12:34:56")
        for index in 0..<4 {
            let address = "0000:01:10.\(2 * index)"
            let vf = try tree.pciFunction(address, vendor: "0x8086", device: "0x10ca", classCode: "0x020000",
                                          driver: index == 3 ? "vfio-pci" : "igbvf", numaNode: 0)
            try tree.linkVF(vf, address: address, index: index, pfDir: pf, pfAddress: "0000:01:00.0")
            switch index {
            case 0: try tree.netdev("enp1s0v0", under: vf, mtu: 1500, mac: "02:00:00:00:00:00")
            case 1: try tree.directory("\(vf)/net")
            default: break
            }
        }
        return tree
    }

    /// vDPA on ConnectX-6 Dx VFs of PF 0000:65:00.0 (ens2f0, NUMA 1): VF 0
    /// (0000:65:00.2, netdev ens2f0v0) has vdpa0 on vhost_vdpa (/dev/vhost-vdpa-0);
    /// VF 1 (0000:65:00.3, ens2f0v1) has vdpa1 on virtio_vdpa, whose virtio1 netdev
    /// eth0 sits below the VF; VF 2 (0000:65:00.4, ens2f0v2) has none; VF 3
    /// (0000:65:00.5, ens2f0v3) has vdpa3 with no driver bound.
    public static func vdpaOnVFs() throws -> SysfsFixture {
        let tree = try SysfsFixture()
        let pf = try tree.pciFunction("0000:65:00.0", vendor: "0x15b3", device: "0x101d", classCode: "0x020000",
                                      driver: "mlx5_core", numaNode: 1)
        try tree.sriov(pf, totalVFs: 8, numVFs: 4)
        try tree.netdev("ens2f0", under: pf, mtu: 1500, mac: "0c:42:a1:65:00:00")
        for index in 0..<4 {
            let address = "0000:65:00.\(2 + index)"
            let vf = try tree.pciFunction(address, vendor: "0x15b3", device: "0x101e", classCode: "0x020000",
                                          driver: "mlx5_core", numaNode: 1)
            try tree.linkVF(vf, address: address, index: index, pfDir: pf, pfAddress: "0000:65:00.0")
            try tree.netdev("ens2f0v\(index)", under: vf, mtu: 1500, mac: "02:00:00:65:00:0\(index)")
            switch index {
            case 0: try tree.vdpaDevice("vdpa0", under: vf, driver: "vhost_vdpa", minor: 0)
            case 1: try tree.vdpaDevice("vdpa1", under: vf, driver: "virtio_vdpa", minor: 1, netdev: "eth0")
            case 3: try tree.vdpaDevice("vdpa3", under: vf, driver: nil, minor: 3)
            default: break
            }
        }
        return tree
    }

    /// Scalable functions of a ConnectX-6 Dx PF in switchdev mode (0000:08:00.0,
    /// mlx5_core, NUMA 0, uplink ens8f0np0 `p0`, its own RDMA device mlx5_0): SF
    /// mlx5_core.sf.2 (sfnum 1, netdev enp8s0f0s1, RDMA mlx5_2, uverbs1) and
    /// mlx5_core.sf.3 (sfnum 2, netdev enp8s0f0s2, RDMA mlx5_3, uverbs2), with their
    /// representors en8f0pf0sf1/en8f0pf0sf2 (`pf0sf1`, `pf0sf2`) beside the uplink; and
    /// mlx5_core.eth.0 and mlx5_core.rdma.0, auxiliary devices with no sfnum. A second
    /// PF, 0000:08:00.1 (ens8f1np1, NUMA 0), has SF mlx5_core.sf.4 (sfnum 7, netdev
    /// enp8s0f1s7) and no RDMA.
    public static func scalableFunctions() throws -> SysfsFixture {
        let tree = try SysfsFixture()
        var uverbs = 0
        for (function, uplink) in [(0, "ens8f0np0"), (1, "ens8f1np1")] {
            let address = "0000:08:00.\(function)"
            let pf = try tree.pciFunction(address, vendor: "0x15b3", device: "0x101d", classCode: "0x020000",
                                          driver: "mlx5_core", numaNode: 0)
            try tree.sriov(pf, totalVFs: 8, numVFs: 0)
            try tree.netdev(uplink, under: pf, mtu: 1500, mac: "0c:42:a1:08:00:0\(function)", physPortName: "p\(function)")
            if function == 0 {
                try SRIOVNodeFixture.rdmaDevice(tree, "mlx5_0", under: pf, netdev: uplink, index: &uverbs)
                for other in ["mlx5_core.eth.0", "mlx5_core.rdma.0"] {
                    try tree.directory("\(pf)/\(other)")
                    try tree.link("bus/auxiliary/devices/\(other)", to: "../../../\(pf)/\(other)")
                }
            }
            let functions: [(aux: Int, sfnum: Int, rdma: String?)] = function == 0 ? [(2, 1, "mlx5_2"), (3, 2, "mlx5_3")] : [(4, 7, nil)]
            for sf in functions {
                let name = "mlx5_core.sf.\(sf.aux)"
                let dir = "\(pf)/\(name)"
                try tree.write("\(dir)/sfnum", String(sf.sfnum))
                try tree.link("bus/auxiliary/devices/\(name)", to: "../../../\(dir)")
                let netdev = "enp8s0f\(function)s\(sf.sfnum)"
                try tree.netdev(netdev, under: dir, mtu: 1500, mac: "02:00:00:08:0\(function):0\(sf.sfnum)")
                try tree.netdev("en8f\(function)pf\(function)sf\(sf.sfnum)", under: pf, mtu: 1500, mac: "6e:00:00:08:0\(function):0\(sf.sfnum)",
                                physPortName: "pf\(function)sf\(sf.sfnum)")
                if let rdma = sf.rdma { try SRIOVNodeFixture.rdmaDevice(tree, rdma, under: dir, netdev: netdev, index: &uverbs) }
            }
        }
        return tree
    }
}
