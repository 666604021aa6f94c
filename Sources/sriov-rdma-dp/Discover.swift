import ArgumentParser
import DevicePlugin
import HostDevices
import Netlink
import PCIDatabase
import RDMAVerbs
import ResourcePools

struct Discover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the SR-IOV and RDMA devices this node has, and with --config which pool each lands in and why others were left out."
    )

    @Option(help: "Pool configuration (SRIOV-DP resourceList format) to apply to what is found.")
    var config: String?

    @Option(help: "Default resource prefix for pools that set none.")
    var resourcePrefix = PoolsConfig.defaultResourcePrefix

    @Option(help: "Root of the sysfs tree to read.")
    var sysRoot = "/sys"

    @Option(help: "Where the host's /dev is visible (e.g. /host/dev); kubelet is always given /dev/... paths.")
    var devRoot = "/dev"

    @Flag(help: "Print JSON for scripts instead of text.")
    var json = false

    func run() throws {
        // libibverbs reads the real /sys and opens the real /dev/infiniband: its answers
        // describe this host's devices only when --sys-root does too.
        // The same holds for devlink, which answers for this host's kernel.
        let portQuery = sysRoot == "/sys" ? VerbsPortQuery() : nil
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: sysRoot, devRoot: devRoot), names: PCINames(), readGIDs: true,
                                         portQuery: portQuery, firmware: sysRoot == "/sys" ? DevlinkFirmwareQuery() : nil)
        var assignment: PoolAssignment?
        if let config {
            guard let data = FileSystem.contents(of: config) else {
                throw ValidationError("cannot read the config file \(config)")
            }
            do {
                assignment = PoolAssignment(config: try PoolsConfig.parse(data, defaultPrefix: resourcePrefix), snapshot: snapshot)
            } catch {
                throw ValidationError("\(config): \(error)")
            }
        }
        let report = DiscoveryReport(snapshot: snapshot, sysRoot: sysRoot, assignment: assignment, askedVerbs: portQuery != nil)
        print(json ? report.json : report.text, terminator: json ? "\n" : "")
    }
}
