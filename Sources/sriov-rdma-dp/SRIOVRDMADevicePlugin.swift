import ArgumentParser
import CLinux

/// The product version; ExecutablesTests checks it against the repository's VERSION file.
let productVersion = "0.1.0"

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

@main
enum Main {
    static func main() async {
        // One malloc arena for the whole process. glibc gives threads that allocate
        // arenas of their own (up to 8 per core), and the daemon's server and watcher
        // threads left two of them holding 4-5 MiB of freed memory each: serving 1024
        // devices in 8 pools (benchmarks/daemon) the daemon had 11.5 MiB of anonymous
        // memory, 7.3 MiB with MALLOC_ARENA_MAX=1. It allocates little after start-up,
        // so one arena's lock costs nothing measurable. Set here, on the main thread,
        // before any other thread exists.
        _ = mallopt(M_ARENA_MAX, 1)
        let invokedAs = CommandLine.arguments.first?.split(separator: "/").last.map(String.init) ?? ""
        await SRIOVRDMADevicePlugin.main(arguments(invokedAs: invokedAs, Array(CommandLine.arguments.dropFirst())))
    }

    /// The arguments as this binary reads them. Installed under the Go plugins' names
    /// (the operators' DaemonSets start `sriovdp` through its entrypoint and
    /// `/bin/k8s-rdma-shared-dp` directly), it serves without a subcommand and with
    /// that plugin's default config path.
    static func arguments(invokedAs name: String, _ arguments: [String]) -> [String] {
        let subcommands: Set<String> = ["run", "discover", "health", "help"]
        if let first = arguments.first, subcommands.contains(first) { return arguments }
        switch name {
        case "sriovdp":
            return ["run"] + arguments
        case "k8s-rdma-shared-dp":
            if arguments.contains("-v") || arguments.contains("--version") { return ["--version"] }
            let configured = arguments.contains { ["--config", "--config-file"].contains($0.split(separator: "=").first.map(String.init) ?? $0) }
            return ["run"] + (configured ? [] : ["--config", "/k8s-rdma-shared-dev-plugin/config.json"]) + arguments
        default:
            return arguments
        }
    }
}
