import ArgumentParser
import HostDevices

struct Discover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the SR-IOV and RDMA devices this node has, in plain words."
    )

    @Option(help: "Root of the sysfs tree to read.")
    var sysRoot = "/sys"

    @Option(help: "Root of the device-node tree to read.")
    var devRoot = "/dev"

    func run() throws {
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: sysRoot, devRoot: devRoot), names: PCINames())
        print(DiscoveryReport(snapshot: snapshot, sysRoot: sysRoot).text, terminator: "")
    }
}
