import CLinux
import DevicePluginAPI
import GRPC
import HostDevices
import Logging
import ResourcePools
import Synchronization
import SystemSupport

/// `sriov-rdma-dp run`: one gRPC server per pool, registered with kubelet, kept in
/// step with the node and with kubelet. Every event (a tick, a kernel link event,
/// inotify in kubelet's directory or the config's, a registration result, a
/// signal) goes through one sequential loop, so no two reactions interleave.
public final class Daemon: Sendable {
    enum Event: Sendable {
        case tick, kernelChanged, reloadConfig, terminate
        /// Something was created or removed in kubelet's directory.
        case kubeletDirectoryChanged
        /// A ListAndWatch stream on one of our servers ended.
        case streamEnded
        /// A wake-up `DaemonState` asked for.
        case reconcile
        case registered(pool: String, socket: String, kubelet: KubeletInstance)
        case kubeletUnreachable(pool: String, socket: String, kubelet: KubeletInstance, reason: String)
        case registrationFailed(pool: String, socket: String, reason: String)
        /// Register was not sent: the pool's socket had been removed when kubelet answered the connect.
        case registerAbandoned(pool: String, socket: String, reason: String)
        /// kubelet's plugin watcher told a pool's socket whether it registered the plugin.
        case watcherVerdict(pool: String, socket: String, registered: Bool, error: String)
    }

    private let configuration: DaemonConfiguration
    private let logger: Logger
    private let events: AsyncStream<Event>
    private let sink: AsyncStream<Event>.Continuation
    private let kernelEventPending = PendingFlag()
    /// inotify on kubelet's directory and the config's, alive as long as the daemon.
    private let directoryWatcher = Mutex<DirectoryWatcher?>(nil)

    public init(configuration: DaemonConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (events, sink) = AsyncStream.makeStream(of: Event.self)
    }

    /// Ends `run()`: servers stop, sockets and device-info files are removed.
    public func terminate() { sink.yield(.terminate) }
    /// Re-reads the config file (SIGHUP).
    public func reloadConfig() { sink.yield(.reloadConfig) }

    /// Runs until `terminate()`. Throws only when the config is unusable at start.
    public func run() async throws {
        var state = try DaemonState(configuration: configuration, logger: logger, sink: sink)
        try? FileSystem.createDirectory(configuration.kubeletDirectory, mode: 0o750)
        if let dra = state.dra {
            do {
                try dra.start()
            } catch {
                throw DaemonError("DRA driver: \(error)")
            }
        }
        startWatchers()
        state.rescan()
        state.writeStatus()
        let ticker = Task { [sink, interval = configuration.pollInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                sink.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        for await event in events {
            if case .kernelChanged = event { kernelEventPending.clear() }
            state.handle(event)
            if case .terminate = event { return }
        }
    }

    private func startWatchers() {
        let sink = self.sink
        let kubeletDirectory = configuration.kubeletDirectory
        let configDirectory = configuration.configPath.deletingLastPathComponent
        let configName = configuration.configPath.lastPathComponent
        let watcher = DirectoryWatcher(directories: [kubeletDirectory, configDirectory]) { directory, name, mask in
            if directory == kubeletDirectory {
                let created = mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0
                let deleted = mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0
                if created || deleted { sink.yield(.kubeletDirectoryChanged) }
            }
            // A ConfigMap update swaps the `..data` symlink; a plain edit closes the file.
            if directory == configDirectory && (name == configName || name == "..data") {
                sink.yield(.reloadConfig)
            }
        }
        if watcher == nil { logger.warning("inotify unavailable: kubelet restarts are noticed only by polling") }
        let pending = kernelEventPending
        let started = LinkWatcher.start {
            // A burst of link events becomes one rescan.
            if pending.set() { sink.yield(.kernelChanged) }
        }
        if !started { logger.warning("rtnetlink link events unavailable: health is polled only") }
        directoryWatcher.withLock { $0 = watcher }
    }
}

/// Set by the event thread, cleared by the loop: true from `set()` means "first since clear".
final class PendingFlag: Sendable {
    private let flag = Mutex(false)
    func set() -> Bool { flag.withLock { value in defer { value = true }; return !value } }
    func clear() { flag.withLock { $0 = false } }
}

extension DaemonState {
    /// The reaction to one event, then the status file (which `terminate` removes).
    /// Rescans end in `reconcile` themselves; every other event is followed by one.
    mutating func handle(_ event: Daemon.Event) {
        switch event {
        case .terminate:
            shutdown()
            return
        case .tick, .kernelChanged:
            rescan()
        case .reloadConfig:
            reloadConfig()
            rescan()
        case .kubeletDirectoryChanged, .streamEnded:
            reconcile()
        case .reconcile:
            woke()
        case .registered(let pool, let socket, let kubelet):
            registered(pool: pool, socket: socket, kubelet: kubelet)
        case .kubeletUnreachable(let pool, let socket, let kubelet, let reason):
            kubeletUnreachable(pool: pool, socket: socket, kubelet: kubelet, reason: reason)
        case .registrationFailed(let pool, let socket, let reason):
            registrationFailed(pool: pool, socket: socket, reason: reason)
        case .registerAbandoned(let pool, let socket, let reason):
            registerAbandoned(pool: pool, socket: socket, reason: reason)
        case .watcherVerdict(let pool, let socket, let registered, let error):
            watcherVerdict(pool: pool, socket: socket, registered: registered, error: error)
        }
        switch event {
        case .registered, .kubeletUnreachable, .registrationFailed, .registerAbandoned, .watcherVerdict: reconcile()
        default: break
        }
        writeStatus()
    }
}
