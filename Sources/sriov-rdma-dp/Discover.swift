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

    @OptionGroup var host: HostRootOptions

    @Flag(help: "Print JSON for scripts instead of text.")
    var json = false

    @Flag(help: "Refuse a config with an unknown or misspelled key (by default it is ignored with a warning).")
    var strictConfig = false

    func run() throws {
        let portQuery = host.isThisHost ? VerbsPortQuery() : nil
        let snapshot = HostSnapshot.scan(roots: host.roots, names: PCINames(), readGIDs: true,
                                         portQuery: portQuery, firmware: host.isThisHost ? DevlinkFirmwareQuery() : nil)
        var assignment: PoolAssignment?
        var warnings: [ConfigWarning] = []
        if let config {
            guard let data = FileSystem.contents(of: config) else {
                throw ValidationError("cannot read the config file \(config)")
            }
            do {
                let parsed = try PoolsConfig.parse(data, defaultPrefix: resourcePrefix, strict: strictConfig)
                warnings = parsed.warnings
                assignment = PoolAssignment(config: parsed, snapshot: snapshot)
            } catch {
                throw ValidationError("\(config): \(error)")
            }
        }
        let report = DiscoveryReport(snapshot: snapshot, sysRoot: host.sysRoot, assignment: assignment, configWarnings: warnings,
                                     askedVerbs: portQuery != nil)
        print(json ? report.json : report.text, terminator: json ? "\n" : "")
    }
}
