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
        /// This kubelet accepted Register (or, through the plugin watcher, registered the
        /// plugin) at `at`.
        case registered(KubeletInstance?, at: ContinuousClock.Instant)
        /// kubelet answered Register with an error at `at`.
        case refused(at: ContinuousClock.Instant)
    }

    /// The server this registration is for.
    let socket: String
    private(set) var phase = Phase.waitingForKubelet
    /// When the phase began, on the monotonic clock and on the wall clock (for the status file).
    private(set) var since = ContinuousClock.now
    private(set) var sinceWall = wallClockSeconds()
    /// The kubelet.sock that refused a connection, when, and how many times in a row.
    var unreachable: (kubelet: KubeletInstance, at: ContinuousClock.Instant, attempts: Int)?
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
    /// Through the plugin watcher a new socket registers as soon as it appears, so the
    /// successor is started only once this one is gone.
    var successorWaits: Bool
    let reason: String
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
    /// How soon a kubelet.sock that refused a connection is tried again: 50 ms after the
    /// first refusal (kubelet binds the socket a moment before it listens), doubling to 1 s.
    static func unreachableRetry(attempts: Int) -> Duration {
        .milliseconds(min(50 << min(max(attempts - 1, 0), 5), 1000))
    }
    /// How soon Register is tried again after kubelet answered it with an error.
    static let refusedRetry: Duration = .seconds(5)
    /// Through the plugin watcher: how long a server whose ListAndWatch ended waits for
    /// kubelet to come back to it (a restarted kubelet finds the same socket again)
    /// before it offers a new socket.
    static let watcherReturnTimeout: Duration = .seconds(10)

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
        guard retiring[name] == nil, let server = servers[name], let registration = registrations[name] else { return nil }
        if !FileSystem.exists(server.socketPath) { return "its socket \(server.socketPath.lastPathComponent) was removed" }
        if pluginWatcherDirectory != nil, case .refused(let at) = registration.phase, now - at > Self.refusedRetry {
            return "kubelet's plugin watcher refused it"
        }
        guard case .registered(let registeredWith, let at) = registration.phase else { return nil }
        if pluginWatcherDirectory != nil {
            // A restarted kubelet finds the same socket again; only a kubelet that stays away needs a new one.
            if server.streamEnded, let ended = server.lastStreamEnd, now - ended > Self.watcherReturnTimeout {
                return "kubelet's ListAndWatch stream ended \(Int((now - ended).inSeconds)) s ago and kubelet has not come back"
            }
        } else {
            if let kubelet, kubelet != registeredWith { return "kubelet restarted (kubelet.sock is new)" }
            if server.streamEnded { return "kubelet's ListAndWatch stream ended" }
        }
        let wait = Self.watchTimeout(retries: registration.unwatchedRetries)
        if server.streamsOpened == 0, now - at > wait { return "kubelet has not opened ListAndWatch \(Int(wait.inSeconds)) s after Register" }
        return nil
    }

    private mutating func replace(_ name: String, reason: String, kubelet: KubeletInstance?, now: ContinuousClock.Instant) {
        guard let old = servers[name], let registration = registrations[name] else { return }
        logger.info("\(name): \(reason); serving on a new socket")
        // Does a live kubelet perhaps hold a client for the old server?
        let held: Bool
        var inFlight = false
        switch registration.phase {
        case .registering(let instance):
            inFlight = true
            held = instance == kubelet
        case .registered(let instance, _):
            held = pluginWatcherDirectory != nil || instance == kubelet
        case .waitingForKubelet, .refused:
            held = pluginWatcherDirectory != nil
        }
        // A Register on its way holds the old server only while kubelet can still dial it:
        // a socket file that is gone (kubelet wiped its directory) takes no new connection.
        let reachable = FileSystem.exists(old.socketPath)
        guard held && ((inFlight && reachable) || old.connectionCount > 0) else {
            if startSuccessor(name, reason: reason, unwatched: registration.unwatchedRetries) { old.stop() }
            return
        }
        old.finishStreams()
        let watcher = pluginWatcherDirectory != nil
        // Through the plugin watcher, a socket that goes is the watcher's cue to deregister it.
        if watcher { FileSystem.remove(old.socketPath) }
        retiring[name] = RetiringServer(server: old, deadline: now + Self.retireTimeout, registerInFlight: inFlight && reachable,
                                        successorWaits: watcher, reason: reason)
        if !watcher { startSuccessor(name, reason: reason, unwatched: registration.unwatchedRetries) }
    }

    /// A new server for `name` in place of the current one; false (the old one kept)
    /// when none could be made.
    @discardableResult
    private mutating func startSuccessor(_ name: String, reason: String, unwatched: Int) -> Bool {
        guard let (pool, snapshot) = currentPool(name) else { return false }
        let old = servers[name]
        let oldRegistration = registrations[name]
        guard startServer(pool, snapshot: snapshot, health: pool.health(in: snapshot)) != nil else {
            servers[name] = old
            registrations[name] = oldRegistration
            return false
        }
        if reason.hasPrefix("kubelet has not opened") { registrations[name]?.unwatchedRetries = unwatched + 1 }
        return true
    }

    /// Retired servers go once kubelet has closed its connections to them (and their
    /// Register has come back), or when they had long enough.
    private mutating func releaseRetired(now: ContinuousClock.Instant) {
        for (name, retired) in retiring {
            let released = retired.server.connectionCount == 0 && !retired.registerInFlight
            guard released || now >= retired.deadline else { continue }
            if !released { logger.debug("\(name): kubelet still holds \(retired.server.socketPath.lastPathComponent); closing it") }
            retiring[name] = nil
            if retired.successorWaits {
                startSuccessor(name, reason: retired.reason, unwatched: registrations[name]?.unwatchedRetries ?? 0)
            }
            retired.server.stop()
        }
    }

    private mutating func registerIfDue(_ name: String, kubelet: KubeletInstance?, now: ContinuousClock.Instant) {
        // Through the plugin watcher, kubelet comes to the socket itself.
        guard pluginWatcherDirectory == nil else { return }
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
        if let unreachable = registration.unreachable, unreachable.kubelet == kubelet {
            // kubelet binds kubelet.sock a moment before it listens: try again soon, then less often.
            let wait = Self.unreachableRetry(attempts: unreachable.attempts)
            guard now - unreachable.at >= wait else {
                scheduleWake(after: wait - (now - unreachable.at))
                return
            }
        }
        register(name, server: server, kubelet: kubelet)
    }

    mutating func register(_ name: String, server: PoolServer, kubelet: KubeletInstance) {
        registrations[name]?.enter(.registering(kubelet))
        let request = RegisterRequest(version: devicePluginAPIVersion, endpoint: server.socketPath.lastPathComponent,
                                      resourceName: name, options: DevicePluginHandlers.pluginOptions)
        let socket = server.socketPath
        let kubeletSocket = configuration.kubeletSocket
        let sink = self.sink
        Task {
            do {
                // kubelet dials back within its own 10 s before answering. A kubelet that
                // accepts connections has wiped its directory already: if that took our
                // socket, Register would name a socket nobody can dial (and kubelet drops
                // the pool's client when the dial fails), so it is not sent.
                _ = try await GRPCClient.unary(socketPath: kubeletSocket, method: RegistrationService.register, request: request,
                                               timeout: .seconds(30)) {
                    FileSystem.exists(socket) ? nil : GRPCStatus(.aborted, "\(socket.lastPathComponent) was removed before Register")
                }
                // The kubelet that answered is the one listening now: a stale kubelet.sock
                // seen before the connect may have been replaced by the time it was made.
                sink.yield(.registered(pool: name, socket: socket, kubelet: KubeletInstance(socketPath: kubeletSocket) ?? kubelet))
            } catch let status as GRPCStatus where status.code == .aborted {
                sink.yield(.registerAbandoned(pool: name, socket: socket, reason: status.message))
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

    /// Register was not sent because the pool's socket had gone: the next reconcile
    /// replaces the server, and its successor registers.
    mutating func registerAbandoned(pool name: String, socket: String, reason: String) {
        guard registerReturned(pool: name, socket: socket) else { return }
        registrations[name]?.enter(.waitingForKubelet)
        logger.debug("\(name): \(reason); not registering it")
    }

    mutating func kubeletUnreachable(pool name: String, socket: String, kubelet: KubeletInstance, reason: String) {
        guard registerReturned(pool: name, socket: socket) else { return }
        registrations[name]?.enter(.waitingForKubelet)
        let attempts = registrations[name]?.unreachable.flatMap { $0.kubelet == kubelet ? $0.attempts : nil } ?? 0
        registrations[name]?.unreachable = (kubelet, .now, attempts + 1)
        logger.debug("\(name): kubelet.sock does not accept connections yet (\(reason)); registering when it does")
    }

    /// kubelet's plugin watcher registered the socket's plugin, or refused it.
    mutating func watcherVerdict(pool name: String, socket: String, registered: Bool, error: String) {
        guard registrations[name]?.socket == socket, let server = servers[name] else { return }
        if registered {
            let kubelet = KubeletInstance(socketPath: configuration.kubeletSocket)
            registrations[name]?.enter(.registered(kubelet, at: .now))
            server.isRegistered = true
            logger.info("\(name): registered with kubelet (plugin watcher)")
        } else {
            registrations[name]?.enter(.refused(at: .now))
            server.isRegistered = false
            logger.error("\(name): kubelet's plugin watcher refused it: \(error)")
        }
    }

    mutating func registrationFailed(pool name: String, socket: String, reason: String) {
        guard registerReturned(pool: name, socket: socket) else { return }
        registrations[name]?.enter(.refused(at: .now))
        logger.error("\(name): Register failed: \(reason)")
    }

    /// A `.reconcile` event after `delay`, unless one is already coming sooner.
    private mutating func scheduleWake(after delay: Duration) {
        let at = ContinuousClock.now + delay
        if let coming = wakeAt, coming <= at { return }
        wakeAt = at
        let sink = self.sink
        Task {
            try? await Task.sleep(until: at, clock: .continuous)
            sink.yield(.reconcile)
        }
    }

    /// A `.reconcile` event arrived.
    mutating func woke() {
        if let coming = wakeAt, coming <= .now { wakeAt = nil }
        reconcile()
    }

    /// What the pool waits for, and since when (wall clock), for the status file.
    func waiting(_ name: String) -> (what: String, since: Double)? {
        guard let registration = registrations[name], let server = servers[name] else { return nil }
        if retiring[name] != nil { return ("kubelet to let go of the previous socket", registration.sinceWall) }
        switch registration.phase {
        case .waitingForKubelet:
            let what = pluginWatcherDirectory == nil ? "kubelet.sock to accept connections" : "kubelet's plugin watcher to find the socket"
            return (what, registration.sinceWall)
        case .registering: return ("kubelet to answer Register", registration.sinceWall)
        case .refused: return ("a Register retry after kubelet refused it", registration.sinceWall)
        case .registered: return server.watcherCount > 0 ? nil : ("kubelet to open ListAndWatch", registration.sinceWall)
        }
    }
}
