import ArgumentParser
import DRADriver
import HostDevices
import JSONValue
import ResourcePools
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// The DRA kubelet plugin over a fixture node, for Tests/interop/test_dra_plugin.py:
/// the pools of `--config` on the node at `--sys-root`, claims read from
/// `<claims>/<namespace>/<name>.json` (what the API server would return), until SIGTERM.
struct DRAServe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dra", abstract: "Serve the DRA kubelet plugin on a fixture node.")

    @Option(help: "Pools config (the device plugin's).") var config: String
    @Option(help: "Fixture sysfs root.") var sysRoot: String
    @Option(help: "Fixture /dev root.") var devRoot: String
    @Option(help: "Directory of claims, <namespace>/<name>.json.") var claims: String
    @Option(help: "kubelet's plugins_registry.") var pluginsRegistry: String
    @Option(help: "The plugin's own directory (endpoint, checkpoint).") var pluginDir: String
    @Option(help: "Where CDI specs go.") var cdiDir: String
    @Option(help: "Node name.") var node = "worker-1"

    func run() throws {
        let roots = HostRoots(sysRoot: sysRoot, devRoot: devRoot)
        let pools = try PoolsConfig.parse(readFile(config))
        let names = try DRANames(node: node)
        let preparer = try ClaimPreparer(names: names, checkpointPath: pluginDir + "/checkpoint.json", cdiDirectory: cdiDir,
                                         reader: FileClaimReader(directory: claims))
        let plugin = DRAKubeletPlugin(preparer: preparer, pluginsRegistryDirectory: pluginsRegistry, pluginDirectory: pluginDir) {
            let snapshot = HostSnapshot.scan(roots: roots)
            return DRAKubeletPlugin.Inventory(pools: PoolAssignment(config: pools, snapshot: snapshot).pools, snapshot: snapshot)
        }
        // Signals become bytes on a pipe (any thread may take them): TERM and INT stop,
        // USR1 means the node's health changed (the test rewrote the fixture).
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ValidationError("pipe failed") }
        draSignalPipe = fds[1]
        for signo in [SIGTERM, SIGINT, SIGUSR1] {
            signal(signo) { signo in
                var byte = UInt8(truncatingIfNeeded: signo)
                _ = Glibc.write(draSignalPipe, &byte, 1)
            }
        }
        try plugin.start()
        let line = Array("serving \(plugin.endpoint)\n".utf8)
        _ = line.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
        var byte: UInt8 = 0
        while Glibc.read(fds[0], &byte, 1) == 1 || errno == EINTR {
            if Int32(byte) == SIGUSR1 { plugin.healthChanged(); continue }
            if Int32(byte) == SIGTERM || Int32(byte) == SIGINT { break }
        }
        plugin.stop()
    }
}

nonisolated(unsafe) var draSignalPipe: Int32 = -1

struct FileClaimReader: ClaimReader {
    let directory: String

    struct NotFound: Error, CustomStringConvertible {
        var description: String
    }

    func claim(namespace: String, name: String) throws -> JSON {
        let path = directory + "/\(namespace)/\(name).json"
        guard let bytes = try? readFile(path) else {
            throw NotFound(description: "resourceclaims.resource.k8s.io \"\(name)\" not found")
        }
        return try JSON.parse(bytes)
    }
}
