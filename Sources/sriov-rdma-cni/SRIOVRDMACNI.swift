import ArgumentParser
import CNI
import VFAttach
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// The product version; ExecutablesTests checks it against the repository's VERSION file.
let productVersion = "0.1.0"

/// The CNI plugin binary. A container runtime calls it with CNI_COMMAND and the
/// network config on stdin; a person calling it by hand gets --help and --version.
@main
struct SRIOVRDMACNI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriov-rdma-cni",
        abstract: "CNI plugin (type \"sriov-rdma\") that moves SR-IOV VFs and their RDMA devices into pods.",
        discussion: """
            Container runtimes call this plugin with CNI_COMMAND (ADD, DEL, CHECK, VERSION, STATUS, GC) \
            and the network configuration on standard input; it takes no arguments then. It accepts \
            sriov-cni's configuration fields (deviceID, vlan, vlanQoS, vlanProto, mac, spoofchk, trust, \
            link_state, min_tx_rate, max_tx_rate, ipam) and moves the VF's RDMA device into the pod \
            when the RDMA subsystem is in exclusive netns mode. By hand, only --help and --version.
            """,
        version: productVersion
    )

    /// CNI calls carry no arguments: dispatch on CNI_COMMAND before argument parsing.
    static func main() {
        let variables = processEnvironment()
        guard variables["CNI_COMMAND"] != nil else {
            main(nil)
            return
        }
        let output = CNISkeleton.run(SRIOVRDMAPlugin(host: AttachHost.fromEnvironment(variables)),
                                     variables: variables, input: .standardInput)
        writeStandardOutput(output.stdout)
        Glibc.exit(output.exitCode)
    }

    func run() throws {
        // CNI spec: a plugin invoked without CNI_COMMAND reports what it is.
        print("CNI plugin sriov-rdma v\(productVersion): set CNI_COMMAND to call it (see --help).")
        throw ExitCode(4)
    }
}

func processEnvironment() -> [String: String] {
    var variables: [String: String] = [:]
    guard var cursor = Optional(environ) else { return variables }
    while let entry = cursor.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        cursor = cursor.advanced(by: 1)
    }
    return variables
}

/// The whole text; a runtime that stopped reading has gone, and nobody is left to tell.
func writeStandardOutput(_ text: String) {
    try? FileDescriptor.standardOutput.writeAll(text.utf8)
}
