#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// `sriov-rdma-cni install`: the CNI image's entry point, in the shape of the upstream
/// CNI images' entrypoint scripts, which the operators run as init containers with
/// `--no-sleep` and the host's CNI bin dir mounted at /host/opt/cni/bin. It copies the
/// plugin into the bin dir under each name it is to serve (`sriov-rdma`, `sriov` and
/// `rdma` unless `--names` says otherwise), each as a whole file renamed into place, so
/// a runtime calling the plugin meanwhile runs the old binary or the new one, never
/// part of one (the upstream scripts `cp -f` over the file). Without `--no-sleep` it
/// then waits for SIGTERM, as those scripts do in a DaemonSet.
///
/// The upstream scripts' `--sriov-bin-file`, `--rdma-cni-bin-file` and
/// `--ib-sriov-cni-bin-file` name a file to copy, under its own name, in place of this
/// binary's default names; that is what they do upstream too.
struct Installer {
    var binDirectory = "/host/opt/cni/bin"
    var names = ["sriov-rdma", "sriov", "rdma"]
    /// Files named by the upstream flags: copied under their own names instead.
    var files: [String] = []
    var sleep = true

    static let usage = """
        USAGE: sriov-rdma-cni install [--cni-bin-dir=DIR] [--names=NAME,...] [--no-sleep]

        Copies this plugin into DIR (default /host/opt/cni/bin) as each NAME (default
        sriov-rdma,sriov,rdma; add ib-sriov only where InfiniBand networks should reach
        this plugin, which refuses them for now), then waits for SIGTERM unless --no-sleep.
        --sriov-bin-file=F, --rdma-cni-bin-file=F and --ib-sriov-cni-bin-file=F copy F
        under its own name instead, as the upstream CNI images' entrypoints do.

        """

    struct Failure: Error {
        var message: String
        var status: Int32 = 1
    }

    init(arguments: some Sequence<String>) throws(Failure) {
        for argument in arguments {
            let (flag, value) = Self.split(argument)
            switch flag {
            case "--cni-bin-dir":
                binDirectory = try Self.required(flag, value)
            case "--names":
                names = try Self.required(flag, value).split(separator: ",").map(String.init)
                guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && !$0.contains("/") && $0 != "." && $0 != ".." }) else {
                    throw Failure(message: "--names \(value ?? ""): a comma-separated list of file names")
                }
            case "--sriov-bin-file", "--rdma-cni-bin-file", "--ib-sriov-cni-bin-file":
                files.append(try Self.required(flag, value))
            case "--no-sleep":
                guard value == nil else { throw Failure(message: "--no-sleep takes no value") }
                sleep = false
            case "-h", "--help":
                throw Failure(message: Self.usage, status: 0)
            default:
                throw Failure(message: "unknown argument \"\(argument)\"\n" + Self.usage)
            }
        }
    }

    /// What goes where: (source path, installed path).
    var copies: [(source: String, target: String)] {
        let target = binDirectory.hasSuffix("/") ? binDirectory : binDirectory + "/"
        if !files.isEmpty { return files.map { ($0, target + $0.lastPathComponent) } }
        return names.map { ("/proc/self/exe", target + $0) }
    }

    func run() throws(Failure) {
        var status = stat()
        guard stat(binDirectory, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            throw Failure(message: "CNI bin dir \(binDirectory) does not exist or is not a directory (mount the host's /opt/cni/bin there, or pass --cni-bin-dir)")
        }
        for (source, target) in copies {
            let bytes: [UInt8]
            do {
                bytes = try readFile(source)
                try writeFileAtomically(bytes, to: target, mode: 0o755)
            } catch {
                throw Failure(message: "installing \(target): \(error)")
            }
            writeStandardOutput("installed \(target) (\(bytes.count) bytes)\n")
        }
        guard sleep else { return }
        writeStandardOutput("waiting for SIGTERM (--no-sleep ends here instead)\n")
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        sigprocmask(SIG_BLOCK, &signals, nil)
        var received: Int32 = 0
        sigwait(&signals, &received)
    }

    private static func split(_ argument: String) -> (String, String?) {
        guard let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    private static func required(_ flag: String, _ value: String?) throws(Failure) -> String {
        guard let value, !value.isEmpty else { throw Failure(message: "\(flag) needs a value: \(flag)=...") }
        return value
    }
}
