import DevicePluginAPI
import GRPC
#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// Which kubelet listens on kubelet.sock: the socket file's identity. kubelet removes
/// the file and binds a new one at every start, so a new identity is a new kubelet. The
/// change time is part of it because a file system may hand the freed inode number
/// straight to the new file.
struct KubeletInstance: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
    let changed: Duration

    /// The kubelet behind `socketPath`, or nil when there is no socket there.
    init?(socketPath: String) {
        var status = stat()
        guard stat(socketPath, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        changed = .seconds(status.st_ctim.tv_sec) + .nanoseconds(status.st_ctim.tv_nsec)
    }
}

/// Where one pool's current server stands with kubelet.
struct PoolRegistration {
    enum Phase: Equatable {
        /// There is no kubelet.sock, or it does not accept connections yet.
        case waitingForKubelet
        /// Register was sent to this kubelet; its answer is pending.
        case registering(KubeletInstance)
        /// This kubelet accepted Register at `at`.
        case registered(KubeletInstance, at: ContinuousClock.Instant)
        /// kubelet answered Register with an error at `at`.
        case refused(at: ContinuousClock.Instant)
    }

    /// The server this registration is for.
    let socket: String
    private(set) var phase = Phase.waitingForKubelet
    /// When the phase began, on the monotonic clock and on the wall clock (for the status file).
    private(set) var since = ContinuousClock.now
    private(set) var sinceWall = wallClockSeconds()
    /// The kubelet.sock that refused a connection, and when.
    var unreachable: (kubelet: KubeletInstance, at: ContinuousClock.Instant)?
    /// Servers replaced because kubelet did not open ListAndWatch after Register; each
    /// further wait is twice as long.
    var unwatchedRetries = 0

    init(socket: String) { self.socket = socket }

    mutating func enter(_ phase: Phase) {
        guard phase != self.phase else { return }
        self.phase = phase
        since = .now
        sinceWall = wallClockSeconds()
    }
}

/// A replaced server, kept until kubelet has torn down its client for it.
struct RetiringServer {
    let server: PoolServer
    let deadline: ContinuousClock.Instant
    /// Its Register was still on its way when it was replaced.
    var registerInFlight: Bool
}

/// Registration with kubelet: exactly one Register per pool and kubelet instance.
///
/// One kubelet restart looks like several triggers: the old kubelet's ListAndWatch
/// streams end, kubelet removes every socket in its directory (ours too) and the stale
/// kubelet.sock, then binds a new kubelet.sock. Each trigger only marks what is true
/// now; `reconcile` then replaces a server that kubelet can no longer reach (once) and
/// registers each current server with the kubelet that listens now, once it accepts
/// connections. kubelet keys its plugin clients by resource name, and an old client's
/// teardown disconnects whatever client holds the name by then (kubernetes#121994):
/// so a server that a live kubelet may still hold is retired first (its streams end,
/// kubelet closes its connection) and its successor registers only after that.
extension DaemonState {
    /// How long a retired server may keep kubelet's connection before it is closed anyway.
    static let retireTimeout: Duration = .seconds(2)
    /// How soon a kubelet.sock that refused a connection is tried again without an inotify event.
    static let unreachableRetry: Duration = .seconds(1)
    /// How soon Register is tried again after kubelet answered it with an error.
    static let refusedRetry: Duration = .seconds(5)

    /// How long kubelet may take to open ListAndWatch after Register before the pool
    /// registers again on a new socket: 5 s, doubling with each retry, at most 60 s.
    static func watchTimeout(retries: Int) -> Duration {
        .seconds(min(5 << min(retries, 4), 60))
    }

    /// Brings every pool's server and registration in line with kubelet as it is now.
    /// Called after every event; each step acts only on what is due.
    mutating func reconcile() {
        let kubelet = KubeletInstance(socketPath: configuration.kubeletSocket)
        let now = ContinuousClock.now
        for name in servers.keys.sorted() {
            if let reason = replacementReason(name, kubelet: kubelet, now: now) { replace(name, reason: reason, kubelet: kubelet, now: now) }
        }
        releaseRetired(now: now)
        for name in servers.keys.sorted() { registerIfDue(name, kubelet: kubelet, now: now) }
        // A retired server is watched closely: its successor registers as soon as kubelet lets go.
        if !retiring.isEmpty { scheduleWake(after: .milliseconds(20)) }
    }

    /// Why `name`'s server must give way to a new one, or nil.
    private func replacementReason(_ name: String, kubelet: KubeletInstance?, now: ContinuousClock.Instant) -> String? {
        guard let server = servers[name], let registration = registrations[name] else { return nil }
        if !FileSystem.exists(server.socketPath) { return "its socket \(server.socketPath.lastPathComponent) was removed" }
        guard case .registered(let registeredWith, let at) = registration.phase else { return nil }
        if let kubelet, kubelet != registeredWith { return "kubelet restarted (kubelet.sock is new)" }
        if server.streamEnded { return "kubelet's ListAndWatch stream ended" }
        let wait = Self.watchTimeout(retries: registration.unwatchedRetries)
        if server.streamsOpened == 0, now - at > wait { return "kubelet has not opened ListAndWatch \(Int(wait.inSeconds)) s after Register" }
        return nil
    }

    private mutating func replace(_ name: String, reason: String, kubelet: KubeletInstance?, now: ContinuousClock.Instant) {
        guard let old = servers[name], let registration = registrations[name],
              let (pool, snapshot) = currentPool(name) else { return }
        retiring.removeValue(forKey: name)?.server.stop()
        let unwatched = reason.hasPrefix("kubelet has not opened")
        logger.info("\(name): \(reason); serving on a new socket")
        guard startServer(pool, snapshot: snapshot, health: pool.health(in: snapshot)) != nil else {
            // No new server: the old one keeps serving what it can.
            servers[name] = old
            registrations[name] = registration
            return
        }
        if unwatched { registrations[name]?.unwatchedRetries = registration.unwatchedRetries + 1 }
        // Does a live kubelet perhaps hold a client for the old server?
        var heldBy: KubeletInstance?
        var inFlight = false
        switch registration.phase {
        case .registering(let instance): heldBy = instance; inFlight = true
        case .registered(let instance, _): heldBy = instance
        case .waitingForKubelet, .refused: break
        }
        if let heldBy, heldBy == kubelet, inFlight || old.connectionCount > 0 {
            old.finishStreams()
            retiring[name] = RetiringServer(server: old, deadline: now + Self.retireTimeout, registerInFlight: inFlight)
        } else {
            old.stop()
        }
    }

    /// Retired servers go once kubelet has closed its connections to them (and their
    /// Register has come back), or when they had long enough.
    private mutating func releaseRetired(now: ContinuousClock.Instant) {
        for (name, retired) in retiring {
            let released = retired.server.connectionCount == 0 && !retired.registerInFlight
            guard released || now >= retired.deadline else { continue }
            if !released { logger.debug("\(name): kubelet still holds \(retired.server.socketPath.lastPathComponent); closing it") }
            retired.server.stop()
            retiring[name] = nil
        }
    }

    private mutating func registerIfDue(_ name: String, kubelet: KubeletInstance?, now: ContinuousClock.Instant) {
        guard retiring[name] == nil, let server = servers[name], let registration = registrations[name] else { return }
        switch registration.phase {
        case .registering, .registered: return
        case .refused(let at) where now - at < Self.refusedRetry: return
        case .waitingForKubelet, .refused: break
        }
        guard let kubelet else {
            registrations[name]?.enter(.waitingForKubelet)
            return
        }
        if let unreachable = registration.unreachable, unreachable.kubelet == kubelet, now - unreachable.at < Self.unreachableRetry { return }
        register(name, server: server, kubelet: kubelet)
    }

    private mutating func register(_ name: String, server: PoolServer, kubelet: KubeletInstance) {
        registrations[name]?.enter(.registering(kubelet))
        let request = RegisterRequest(version: devicePluginAPIVersion, endpoint: server.socketPath.lastPathComponent,
                                      resourceName: name, options: DevicePluginHandlers.pluginOptions)
        let socket = server.socketPath
        let kubeletSocket = configuration.kubeletSocket
        let sink = self.sink
        Task {
            do {
                // kubelet dials back within its own 10 s before answering.
                _ = try await GRPCClient.unary(socketPath: kubeletSocket, method: RegistrationService.register, request: request, timeout: .seconds(30))
                sink.yield(.registered(pool: name, socket: socket, kubelet: kubelet))
            } catch let status as GRPCStatus where status.code == .unavailable {
                // No kubelet behind the socket (yet): a restart in progress, not a failure.
                sink.yield(.kubeletUnreachable(pool: name, socket: socket, kubelet: kubelet, reason: status.message))
            } catch {
                sink.yield(.registrationFailed(pool: name, socket: socket, reason: "\(error)"))
            }
        }
    }

    /// A Register came back: `true` when it was for the pool's current server.
    private mutating func registerReturned(pool name: String, socket: String) -> Bool {
        if var retired = retiring[name], retired.server.socketPath == socket {
            retired.registerInFlight = false
            retiring[name] = retired
        }
        return registrations[name]?.socket == socket
    }

    mutating func registered(pool name: String, socket: String, kubelet: KubeletInstance) {
        guard registerReturned(pool: name, socket: socket), let server = servers[name] else { return }
        registrations[name]?.enter(.registered(kubelet, at: .now))
        server.isRegistered = true
        logger.info("\(name): registered with kubelet")
    }

    mutating func kubeletUnreachable(pool name: String, socket: String, kubelet: KubeletInstance, reason: String) {
        guard registerReturned(pool: name, socket: socket) else { return }
        registrations[name]?.enter(.waitingForKubelet)
        registrations[name]?.unreachable = (kubelet, .now)
        logger.debug("\(name): kubelet.sock does not accept connections yet (\(reason)); registering when it does")
    }

    mutating func registrationFailed(pool name: String, socket: String, reason: String) {
        guard registerReturned(pool: name, socket: socket) else { return }
        registrations[name]?.enter(.refused(at: .now))
        logger.error("\(name): Register failed: \(reason)")
    }

    /// A `.reconcile` event soon, unless one is already coming.
    private mutating func scheduleWake(after delay: Duration) {
        guard !wakeScheduled else { return }
        wakeScheduled = true
        let sink = self.sink
        Task {
            try? await Task.sleep(for: delay)
            sink.yield(.reconcile)
        }
    }

    /// The `.reconcile` event arrived.
    mutating func woke() {
        wakeScheduled = false
        reconcile()
    }

    /// What the pool waits for, and since when (wall clock), for the status file.
    func waiting(_ name: String) -> (what: String, since: Double)? {
        guard let registration = registrations[name], let server = servers[name] else { return nil }
        if retiring[name] != nil { return ("kubelet to let go of the previous socket", registration.sinceWall) }
        switch registration.phase {
        case .waitingForKubelet: return ("kubelet.sock to accept connections", registration.sinceWall)
        case .registering: return ("kubelet to answer Register", registration.sinceWall)
        case .refused: return ("a Register retry after kubelet refused it", registration.sinceWall)
        case .registered: return server.watcherCount > 0 ? nil : ("kubelet to open ListAndWatch", registration.sinceWall)
        }
    }
}
