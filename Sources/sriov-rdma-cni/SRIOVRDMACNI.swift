import ArgumentParser

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
            Container runtimes call this plugin with CNI_COMMAND and the network configuration \
            on standard input; it is not meant to be run by hand except with --help or --version.
            """,
        version: productVersion
    )

    func run() throws {
        // CNI spec: a plugin invoked without CNI_COMMAND reports what it is.
        print("CNI plugin sriov-rdma v\(productVersion): set CNI_COMMAND to call it (see --help).")
        throw ExitCode(4)
    }
}
