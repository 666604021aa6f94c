import Foundation
import HostDevices
import ResourcePools
import SysfsFixtures

/// Discovery at scale (issue #5): the time of one HostSnapshot scan plus pool
/// assignment over generated nodes of 1024 and 2048 VFs, and the ratio between
/// them (linear scaling gives 2.0). `fixture` writes a node to a directory and
/// keeps it, for the daemon benchmark.
@main
struct DiscoveryBenchmark {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // sysfs lives in memory (kernfs), so the fixtures go to tmpfs unless TMPDIR says
        // otherwise: on a disk file system the page and dentry caches of tens of thousands
        // of tiny files get reclaimed between rounds, and a scan would time the disk.
        if getenv("TMPDIR") == nil, access("/dev/shm", W_OK) == 0 { setenv("TMPDIR", "/dev/shm", 1) }
        if arguments.first == "fixture" {
            // fixture PFS VFS_PER_PF: prints the sysfs and dev roots; the tree stays.
            let pfs = Int(arguments.dropFirst().first ?? "8") ?? 8
            let vfs = Int(arguments.dropFirst(2).first ?? "128") ?? 128
            let node = try SRIOVNodeFixture(pfs: pfs, vfsPerPF: vfs)
            node.tree.keep = true
            print(node.tree.path, node.tree.devPath)
            return
        }
        if arguments.first == "scan" {
            // scan SYS_ROOT DEV_ROOT ROUNDS [all]: only scans, for `perf record` and `strace -c`
            // over a tree `fixture` wrote, with no fixture writing in the profile.
            let roots = HostRoots(sysRoot: arguments[1], devRoot: arguments[2])
            let rounds = Int(arguments.dropFirst(3).first ?? "20") ?? 20
            let detail: ScanDetail = arguments.dropFirst(4).first == "all" ? .all : .forPools
            var devices = 0
            for _ in 0..<rounds { devices = HostSnapshot.scan(roots: roots, detail: detail).pciDevices.count }
            print("\(rounds) scans of \(devices) devices")
            return
        }
        if arguments.first == "locate" {
            // locate SYS_ROOT DEV_ROOT ADDRESS ROUNDS: only the CNI's scan of one function and its PF.
            let roots = HostRoots(sysRoot: arguments[1], devRoot: arguments[2])
            let address = PCIAddress(arguments[3])!
            let rounds = Int(arguments.dropFirst(4).first ?? "20") ?? 20
            for _ in 0..<rounds { _ = HostSnapshot.scan(roots: roots, functions: [address]) }
            return
        }
        let rounds = Int(arguments.first ?? "9") ?? 9
        let config = try PoolsConfig.parse(Data("""
            {"resourceList": [{"resourceName": "mlx", "selectors": {"vendors": ["15b3"], "drivers": ["mlx5_core"], "isRdma": true}},
                              {"resourceName": "e810", "selectors": {"vendors": ["8086"], "drivers": ["iavf"]}},
                              {"resourceName": "dpdk", "selectors": {"drivers": ["vfio-pci"], "pfNames": ["ens0f0#0-63", "ens1f0"]}}]}
            """.utf8))
        // The daemon's scan (what it runs at start and at every rescan) is the one the
        // targets apply to; `discover`'s (every netdev attribute and why each left-out
        // device was passed over, here without GID tables, names or libibverbs) is
        // printed beside it.
        // One node of each size, written back and shared by every kind of scan below.
        var nodes: [(pfs: Int, perPF: Int, node: SRIOVNodeFixture)] = []
        for (pfs, perPF) in [(8, 128), (8, 256)] { nodes.append((pfs, perPF, try SRIOVNodeFixture(pfs: pfs, vfsPerPF: perPF))) }
        // The fixtures' tens of thousands of new files are written back first, so that
        // does not land in a timed round.
        sync()
        for (label, detail) in [("the daemon's scan (netdevs as far as pools read them, no reasons for left-out devices)", ScanDetail.forPools),
                                 ("every netdev attribute, reasons for left-out devices", .all)] {
            var medians: [Int: Double] = [:]
            print("\(label):")
            print("VFs   PFs  devices  scan+pools median (ms)  min (ms)  pooled  of which pools, median (ms)")
            let roots = nodes.map { HostRoots(sysRoot: $0.node.tree.path, devRoot: $0.node.tree.devPath) }
            // One scan of each warms the dentry cache first.
            for root in roots { _ = HostSnapshot.scan(roots: root, detail: detail) }
            var times = Array(repeating: [Double](), count: nodes.count)
            var poolTimes = Array(repeating: [Double](), count: nodes.count)
            var pooled = Array(repeating: 0, count: nodes.count)
            // The sizes take turns round by round, so a machine that speeds up or slows
            // down during the run moves both alike and the ratio stays a ratio of sizes.
            for _ in 0..<rounds {
                for (index, root) in roots.enumerated() {
                    let start = ContinuousClock.now
                    let snapshot = HostSnapshot.scan(roots: root, detail: detail)
                    let scanned = ContinuousClock.now
                    let assignment = PoolAssignment(config: config, snapshot: snapshot, explained: detail == .all)
                    let end = ContinuousClock.now
                    pooled[index] = assignment.pools.reduce(0) { $0 + $1.devices.count }
                    times[index].append(milliseconds(end - start))
                    poolTimes[index].append(milliseconds(end - scanned))
                }
            }
            for (index, (pfs, perPF, _)) in nodes.enumerated() {
                let sorted = times[index].sorted(), pools = poolTimes[index].sorted()
                let vfs = pfs * perPF
                medians[vfs] = sorted[sorted.count / 2]
                print(String(format: "%-5d %-4d %-8d %-23.1f %-9.1f %-7d %.1f", vfs, pfs, vfs + pfs, sorted[sorted.count / 2], sorted[0],
                             pooled[index], pools[pools.count / 2]))
            }
            let ratio = medians[2048]! / medians[1024]!
            print(String(format: "ratio t(2048)/t(1024): %.2f (target <= 2.2); 2048 VFs: %.1f ms (target < 100 ms)", ratio, medians[2048]!))
        }
        // What a CNI call reads: one VF and its PF (VFLocation), on the 2048-VF node.
        let node = nodes[1].node
        let roots = HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath)
        let vf = PCIAddress(node.vfAddresses[2][100])!  // a ConnectX VF with a netdev and an RDMA device
        var times: [Double] = []
        for _ in 0..<max(rounds, 25) {
            let start = ContinuousClock.now
            let snapshot = HostSnapshot.scan(roots: roots, functions: [vf])
            let elapsed = ContinuousClock.now - start
            precondition(snapshot.device(at: vf)?.vfIndex == 100 && !snapshot.rdmaDevices(of: vf).isEmpty)
            times.append(milliseconds(elapsed))
        }
        times.sort()
        print(String(format: "one VF and its PF (a CNI call) on the 2048-VF node: median %.2f ms, min %.2f ms", times[times.count / 2], times[0]))
        print("scan threads: \(HostSnapshot.scanThreads)")
    }
}

func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}
