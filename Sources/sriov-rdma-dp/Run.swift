import ArgumentParser
import DevicePlugin
import DRADriver
import KubeAPI
import Dispatch
import HostDevices
import Netlink
import JSONValue
import Logging
import ResourcePools
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the configured pools to kubelet (what the DaemonSet runs).",
        discussion: """
            Serves one gRPC socket per pool in the kubelet device-plugin directory, registers each with kubelet, \
            streams device health, rescans the node on kernel link events and every --poll-interval, re-reads the \
            config when it changes (a ConfigMap's symlink swap included) or on SIGHUP, and re-registers within \
            seconds when kubelet restarts. SIGTERM stops the servers and removes sockets and device-info files.
            """
    )

    @Option(name: [.customLong("config"), .customLong("config-file")],
            help: "Pool configuration (SRIOV-DP resourceList format, plus shared RDMA pools); --config-file as SRIOV-DP calls it.")
    var config = "/etc/pcidp/config.json"

    @Option(help: "Resource prefix for pools that set none.")
    var resourcePrefix = PoolsConfig.defaultResourcePrefix

    @Option(help: "kubelet's device-plugin directory.")
    var kubeletDir = "/var/lib/kubelet/device-plugins"

    @Option(help: ArgumentHelp(
        "kubelet's plugin watcher directory (default: plugins_registry beside --kubelet-dir).",
        discussion: "When it exists, pools register through it as sriov-network-device-plugin does; otherwise through kubelet.sock."))
    var pluginsRegistryDir: String?

    @OptionGroup var host: HostRootOptions

    @Option(help: "Root for device-info files (<state-dir>/k8s.cni.cncf.io/devinfo/dp), CDI specs (<state-dir>/cdi) and status.")
    var stateDir = "/var/run"

    @Flag(help: "Hand devices out as CDI devices (the runtime must have CDI enabled).")
    var useCDI = false

    @Flag(help: "Refuse a config with an unknown or misspelled key (by default it is ignored with a warning, as the Go plugins do).")
    var strictConfig = false

    @Option(help: "Seconds between rescans when the kernel sends no events.")
    var pollInterval: Double = 1

    @Option(help: ArgumentHelp(
        "Pools to serve through DRA instead of the device plugin: comma-separated resource names, or `all` (Kubernetes 1.34 and later).",
        discussion: "A pool served through DRA gets no device-plugin socket on this node: its devices are published as ResourceSlices of driver --dra-driver-name, prepared for claims through kubelet's DRA plugin API, and a DeviceClass with extendedResourceName lets pods that ask for the resource name by limits be served by it."))
    var draPools: String?

    @Option(help: "The DRA driver's name: the ResourceSlices' spec.driver, the DeviceClasses' selector, the domain of our device attributes.")
    var draDriverName = DRANames.defaultDriver

    @Option(help: "This node's name, as its Node object is named (default: $NODE_NAME, as the DaemonSet sets it from spec.nodeName).")
    var nodeName: String?

    @Option(help: "A kubeconfig for the API server (default: $KUBECONFIG, else the pod's ServiceAccount). Only read with --dra-pools.")
    var kubeconfig: String?

    @Option(help: "The DRA driver's directory for its endpoint and checkpoint (default: plugins/<driver> beside --kubelet-dir).")
    var draPluginDir: String?

    @Option(help: "Our CNI's state directory, whose records give DRA claims their networkData (interface name, IPs); \"none\" for no network data beyond the claim's MAC (default: \(DRAService.Configuration.defaultCNIStateDirectory)).")
    var cniStateDir: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical, or a glog verbosity (0: info, 1-4: debug, 5 and more: trace).")
    var logLevel = "info"

    @Option(help: "Also log to <dir>/sriov-rdma-dp.log, as glog's --log-dir; a relative directory is below /var/log.")
    var logDir: String?

    /// A level name, or glog's numeric verbosity as the operators pass it (`--log-level=10`).
    static func level(_ text: String) -> Logger.Level? {
        if let level = Logger.Level(rawValue: text) { return level }
        guard let verbosity = Int(text), verbosity >= 0 else { return nil }
        return verbosity == 0 ? .info : verbosity < 5 ? .debug : .trace
    }

    func validate() throws {
        guard Self.level(logLevel) != nil else {
            throw ValidationError("--log-level \(logLevel): use one of trace, debug, info, notice, warning, error, critical, or a glog verbosity 0-10")
        }
        guard pollInterval >= 0.1 else { throw ValidationError("--poll-interval must be at least 0.1 seconds") }
        if draPools == nil {
            let given = [("--dra-driver-name", draDriverName != DRANames.defaultDriver), ("--node-name", nodeName != nil),
                         ("--kubeconfig", kubeconfig != nil), ("--dra-plugin-dir", draPluginDir != nil),
                         ("--cni-state-dir", cniStateDir != nil)].filter(\.1).map(\.0)
            if !given.isEmpty {
                throw ValidationError("\(given.joined(separator: ", ")) only applies with --dra-pools, which is not given")
            }
        }
        if let cniStateDir, cniStateDir != "none", !cniStateDir.hasPrefix("/") {
            throw ValidationError("--cni-state-dir \(cniStateDir): give an absolute path, or none")
        }
        if let draPools {
            let entries = draPools.split(separator: ",").map { $0.filter { $0 != " " } }.filter { !$0.isEmpty }
            if entries.contains("all") && entries.count > 1 {
                throw ValidationError("--dra-pools \(draPools): `all` stands alone, or name the pools")
            }
        }
    }

    func run() async throws {
        let level = Self.level(logLevel) ?? .info
        let logFile = try logDir.map { directory in
            try FileLogHandler.open(directory: directory.hasPrefix("/") ? directory : "/var/log/" + directory)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            guard let logFile else { return handler }
            var file = FileLogHandler(label: label, file: logFile)
            file.logLevel = level
            return MultiplexLogHandler([handler, file])
        }
        let logger = Logger(label: "sriov-rdma-dp")
        var configuration = DaemonConfiguration(configPath: config, resourcePrefix: resourcePrefix)
        configuration.kubeletDirectory = kubeletDir
        configuration.pluginsRegistryDirectory = pluginsRegistryDir ?? kubeletDir.deletingLastPathComponent + "/plugins_registry"
        configuration.roots = host.roots
        configuration.firmwareQuery = host.isThisHost ? DevlinkFirmwareQuery() : nil
        configuration.stateDirectory = stateDir
        configuration.useCDI = useCDI
        configuration.strictConfig = strictConfig
        configuration.pollInterval = .milliseconds(Int(pollInterval * 1000))
        configuration.logLevel = level
        if let draPools {
            configuration.dra = try draSettings(draPools, pluginsRegistry: configuration.pluginsRegistryDirectory ?? "", logger: logger)
        }

        let daemon = Daemon(configuration: configuration, logger: logger)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for (number, action) in [(SIGTERM, daemon.terminate), (SIGINT, daemon.terminate), (SIGHUP, daemon.reloadConfig)] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            sources.append(source)
        }
        logger.info("sriov-rdma-dp \(productVersion) starting: config \(config), kubelet dir \(kubeletDir)")
        do {
            try await daemon.run()
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        withExtendedLifetime(sources) {}
    }
}

extension Run {
    /// The DRA half of the configuration: which pools, the driver's names and
    /// directories, and an API client (in-cluster or a kubeconfig).
    func draSettings(_ list: String, pluginsRegistry: String, logger: Logger) throws -> DRASettings {
        func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        guard let node = nodeName ?? environment("NODE_NAME"), !node.isEmpty else {
            throw ValidationError("--dra-pools needs this node's name: set --node-name or NODE_NAME (fieldRef spec.nodeName)")
        }
        let names: DRANames
        do {
            names = try DRANames(driver: draDriverName, node: node)
        } catch {
            throw ValidationError("\(error)")
        }
        let selection: DRASettings.Selection
        let entries = list.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
        if entries == ["all"] {
            selection = .all
        } else if entries.isEmpty {
            throw ValidationError("--dra-pools is empty: name resource names (comma-separated) or `all`")
        } else {
            selection = .named(Set(entries))
        }
        let config: KubeConfig
        do {
            if let path = kubeconfig ?? environment("KUBECONFIG"), !path.isEmpty {
                config = try KubeConfig.kubeconfig(at: path)
            } else {
                config = try KubeConfig.inCluster()
            }
        } catch {
            throw ValidationError("--dra-pools needs the API server: \(error)")
        }
        let pluginDirectory = draPluginDir ?? kubeletDir.deletingLastPathComponent + "/plugins/" + names.driver
        let service = DRAService.Configuration(names: names, pluginsRegistryDirectory: pluginsRegistry,
                                               pluginDirectory: pluginDirectory, cdiDirectory: stateDir + "/cdi",
                                               cniStateDirectory: cniStateDir == "none" ? nil
                                                   : cniStateDir ?? DRAService.Configuration.defaultCNIStateDirectory)
        logger.info("DRA: pools \(list) through driver \(names.driver) on node \(node), API server \(config.server)")
        // kubelet gives NodePrepareResources 45 s in all: a claim GET must end well within it.
        var options = KubeClient.Options(version: productVersion)
        options.connectTimeout = .seconds(5)
        options.requestTimeout = .seconds(10)
        options.retry = RetryPolicy(maximumAttempts: 3, initialDelay: .milliseconds(200), maximumDelay: .seconds(2),
                                    maximumRetryAfter: .seconds(5))
        return DRASettings(selection: selection, service: service, client: KubeClient(config: config, options: options))
    }
}

struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 only when the daemon runs and every pool is registered and streaming (for liveness and readiness probes).",
        discussion: "Also prints the daemon's notes on pool devices (an InfiniBand VF with no GUID), which do not change the exit status."
    )

    @Option(help: "The --state-dir the daemon was started with.")
    var stateDir = "/var/run"

    @Option(help: "Status older than this many seconds counts as a hung daemon.")
    var maxAge: Double = 30

    func run() throws {
        let path = DaemonStatus.path(stateDirectory: stateDir)
        guard let data = FileSystem.contents(of: path), let json = try? JSON.parse(data), let status = DaemonStatus(json: json) else {
            print("unhealthy: no status at \(path) (is sriov-rdma-dp run using --state-dir \(stateDir)?)")
            throw ExitCode(1)
        }
        let problems = status.problems(now: wallClockSeconds(), maxAge: maxAge) { kill(pid_t($0), 0) == 0 }
        let verdict = problems.isEmpty
            ? "healthy: \(status.pools.count) pools registered and streaming"
            : "unhealthy: " + problems.joined(separator: "; ")
        // Notes (an InfiniBand VF with no GUID) are told, never a reason to fail the probe.
        print(([verdict] + status.noteLines.map { "note: " + $0 }).joined(separator: "\n"))
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
