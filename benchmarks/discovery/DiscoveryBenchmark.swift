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
            // scan SYS_ROOT DEV_ROOT ROUNDS: only scans, for `perf record` and `strace -c`
            // over a tree `fixture` wrote, with no fixture writing in the profile.
            let roots = HostRoots(sysRoot: arguments[1], devRoot: arguments[2])
            let rounds = Int(arguments.dropFirst(3).first ?? "20") ?? 20
            var devices = 0
            for _ in 0..<rounds { devices = HostSnapshot.scan(roots: roots).pciDevices.count }
            print("\(rounds) scans of \(devices) devices")
            return
        }
        let rounds = Int(arguments.first ?? "9") ?? 9
        let config = try PoolsConfig.parse(Data("""
            {"resourceList": [{"resourceName": "mlx", "selectors": {"vendors": ["15b3"], "drivers": ["mlx5_core"], "isRdma": true}},
                              {"resourceName": "e810", "selectors": {"vendors": ["8086"], "drivers": ["iavf"]}},
                              {"resourceName": "dpdk", "selectors": {"drivers": ["vfio-pci"], "pfNames": ["ens0f0#0-63", "ens1f0"]}}]}
            """.utf8))
        var medians: [Int: Double] = [:]
        print("VFs   PFs  devices  scan+pools median (ms)  min (ms)  pooled")
        for (pfs, perPF) in [(8, 128), (8, 256)] {
            let node = try SRIOVNodeFixture(pfs: pfs, vfsPerPF: perPF)
            let roots = HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath)
            var times: [Double] = []
            var pooled = 0
            for _ in 0..<rounds {
                let start = ContinuousClock.now
                let snapshot = HostSnapshot.scan(roots: roots)
                let assignment = PoolAssignment(config: config, snapshot: snapshot)
                let elapsed = ContinuousClock.now - start
                pooled = assignment.pools.reduce(0) { $0 + $1.devices.count }
                let (seconds, attoseconds) = elapsed.components
                times.append(Double(seconds) * 1000 + Double(attoseconds) / 1e15)
            }
            times.sort()
            let vfs = pfs * perPF
            medians[vfs] = times[times.count / 2]
            print(String(format: "%-5d %-4d %-8d %-23.1f %-9.1f %d", vfs, pfs, vfs + pfs, times[times.count / 2], times[0], pooled))
        }
        let ratio = medians[2048]! / medians[1024]!
        print(String(format: "ratio t(2048)/t(1024): %.2f (target <= 2.2); 2048 VFs: %.1f ms (target < 100 ms)", ratio, medians[2048]!))
    }
}
