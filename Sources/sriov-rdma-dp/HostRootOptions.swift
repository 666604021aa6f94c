import ArgumentParser
import HostDevices

/// Where the host's sysfs and /dev are seen: the same two options for `run` and `discover`.
struct HostRootOptions: ParsableArguments {
    @Option(help: "Root of the sysfs tree to read.")
    var sysRoot = "/sys"

    @Option(help: "Where the host's /dev is visible (e.g. /host/dev); kubelet is always given /dev/... paths.")
    var devRoot = "/dev"

    var roots: HostRoots { HostRoots(sysRoot: sysRoot, devRoot: devRoot) }

    /// libibverbs and devlink answer for this host's kernel: their facts describe the
    /// devices read only when --sys-root is this host's own.
    var isThisHost: Bool { sysRoot == "/sys" }
}
