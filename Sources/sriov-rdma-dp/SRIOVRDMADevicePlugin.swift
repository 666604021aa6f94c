import ArgumentParser

/// The product version; ExecutablesTests checks it against the repository's VERSION file.
let productVersion = "0.1.0"

@main
struct SRIOVRDMADevicePlugin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriov-rdma-dp",
        abstract: "Kubernetes device plugin for SR-IOV virtual functions and RDMA devices.",
        discussion: """
            Enumerates physical functions, virtual functions and RDMA devices on this node, \
            groups them into resource pools and serves them to kubelet.
            """,
        version: productVersion,
        subcommands: [Run.self, Discover.self, Health.self]
    )
}
