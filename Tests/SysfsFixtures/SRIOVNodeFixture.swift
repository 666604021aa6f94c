import Foundation

/// Generates a node like the ones users run: `pfs` PFs with `vfsPerPF` VFs each.
/// PFs alternate NUMA nodes 0 and 1; even PFs are Mellanox ConnectX (mlx5, with an
/// RDMA device per function and its char devices), odd PFs are Intel E810 (ice/iavf);
/// every fourth VF is bound to vfio-pci with an IOMMU group and /dev/vfio node.
public struct SRIOVNodeFixture {
    public let tree: SysfsFixture
    public let pfAddresses: [String]
    public var vfAddresses: [[String]]

    /// VFs follow their PF at routing ID + 8 + index (offset 8, stride 1, as on
    /// ConnectX), spilling onto the next bus past 248 VFs; PFs are spaced to leave it free.
    static let firstVFOffset = 8
    static func busesPerPF(_ vfsPerPF: Int) -> Int { 1 + (firstVFOffset + vfsPerPF - 1) / 256 }
    static func pfBus(_ pf: Int, vfsPerPF: Int) -> Int { 0x10 + pf * busesPerPF(vfsPerPF) }
    static func pfAddress(_ pf: Int, vfsPerPF: Int) -> String { String(format: "0000:%02x:00.0", pfBus(pf, vfsPerPF: vfsPerPF)) }
    static func vfAddress(pf: Int, vf: Int, vfsPerPF: Int) -> String {
        let id = pfBus(pf, vfsPerPF: vfsPerPF) << 8 + firstVFOffset + vf
        return String(format: "0000:%02x:%02x.%x", id >> 8, (id >> 3) & 0x1f, id & 7)
    }

    public init(pfs: Int, vfsPerPF: Int, rdma: Bool = true) throws {
        let tree = try SysfsFixture()
        self.tree = tree
        var pfList: [String] = []
        var vfLists: [[String]] = []
        var uverbs = 0
        var group = 100
        for pf in 0..<pfs {
            let mellanox = pf % 2 == 0
            let address = Self.pfAddress(pf, vfsPerPF: vfsPerPF)
            pfList.append(address)
            let numa = pf % 2
            let pfDir = try tree.pciFunction(address, under: String(format: "0000:00:%02x.0", 1 + pf), vendor: mellanox ? "0x15b3" : "0x8086",
                                             device: mellanox ? "0x101d" : "0x1592", classCode: "0x020000",
                                             driver: mellanox ? "mlx5_core" : "ice", numaNode: numa)
            try tree.sriov(pfDir, totalVFs: max(vfsPerPF, 8), numVFs: vfsPerPF)
            try tree.write("\(pfDir)/sriov_offset", String(Self.firstVFOffset))
            try tree.write("\(pfDir)/sriov_stride", "1")
            let pfName = "ens\(pf)f0"
            try tree.netdev(pfName, under: pfDir, mtu: 1500, mac: String(format: "0c:42:a1:00:%02x:00", pf), physPortName: "p0")
            if mellanox && rdma { try Self.rdmaDevice(tree, "mlx5_\(uverbs)", under: pfDir, netdev: pfName, index: &uverbs) }
            var vfs: [String] = []
            for vf in 0..<vfsPerPF {
                let vfAddress = Self.vfAddress(pf: pf, vf: vf, vfsPerPF: vfsPerPF)
                vfs.append(vfAddress)
                let vfio = vf % 4 == 3
                let vfDriver = vfio ? "vfio-pci" : (mellanox ? "mlx5_core" : "iavf")
                let vfDir = try tree.pciFunction(vfAddress, under: String(format: "0000:00:%02x.0", 1 + pf), vendor: mellanox ? "0x15b3" : "0x8086",
                                                 device: mellanox ? "0x101e" : "0x1889", classCode: "0x020000",
                                                 driver: vfDriver, numaNode: numa)
                try tree.linkVF(vfDir, address: vfAddress, index: vf, pfDir: pfDir, pfAddress: address)
                if vfio {
                    try tree.link("\(vfDir)/iommu_group", to: "../../../kernel/iommu_groups/\(group)")
                    try tree.write("dev/vfio/\(group)", "")
                    group += 1
                } else {
                    let name = "ens\(pf)f0v\(vf)"
                    try tree.netdev(name, under: vfDir, mtu: 1500, mac: String(format: "02:%02x:00:00:%02x:%02x", pf, vf / 256, vf % 256))
                    if mellanox && rdma { try Self.rdmaDevice(tree, "mlx5_\(uverbs)", under: vfDir, netdev: name, index: &uverbs) }
                }
            }
            vfLists.append(vfs)
        }
        try tree.write("dev/vfio/vfio", "")
        try tree.write("dev/vhost-net", "")
        try tree.write("dev/net/tun", "")
        if rdma { try tree.write("dev/infiniband/rdma_cm", "") }
        pfAddresses = pfList
        vfAddresses = vfLists
    }

    /// An RDMA device below a PCI function, with an ACTIVE port and its
    /// uverbs/umad/issm char devices registered in the class directories. A RoCE
    /// (`Ethernet`) port's P_Key table is the single default `0xffff`; an InfiniBand
    /// port's is what the subnet manager assigned, `pKeys` in index order. `nodeGUID`
    /// is `node_guid` as sysfs prints it (`0c42:a103:005e:0000`); without it there is none.
    static func rdmaDevice(_ tree: SysfsFixture, _ name: String, under deviceDir: String, netdev: String, index: inout Int,
                           linkLayer: String = "Ethernet", pKeys: [String] = ["0xffff"], nodeGUID: String? = nil) throws {
        let dir = "\(deviceDir)/infiniband/\(name)"
        try tree.write("\(dir)/node_type", "1: CA")
        if let nodeGUID { try tree.write("\(dir)/node_guid", nodeGUID) }
        try tree.write("\(dir)/ports/1/state", "4: ACTIVE")
        try tree.write("\(dir)/ports/1/link_layer", linkLayer)
        try tree.write("\(dir)/ports/1/gid_attrs/ndevs/0", netdev)
        try tree.write("\(dir)/ports/1/gids/0", "fe80:0000:0000:0000:0000:0000:0000:0001")
        for (slot, key) in pKeys.enumerated() { try tree.write("\(dir)/ports/1/pkeys/\(slot)", key) }
        try tree.link("\(dir)/device", to: "../..")
        try tree.link("class/infiniband/\(name)", to: "../../" + dir)
        for (classDir, prefix) in [("infiniband_verbs", "uverbs"), ("infiniband_mad", "umad"), ("infiniband_mad", "issm")] {
            // As in sysfs: the char device sits below the RDMA device's parent and the
            // class directory links to it.
            try tree.write("\(deviceDir)/\(classDir)/\(prefix)\(index)/ibdev", name)
            try tree.link("class/\(classDir)/\(prefix)\(index)", to: "../../\(deviceDir)/\(classDir)/\(prefix)\(index)")
            try tree.write("dev/infiniband/\(prefix)\(index)", "")
        }
        index += 1
    }
}
