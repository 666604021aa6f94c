import JSONValue

/// `<stateDir>/sriov-rdma-dp/status.json`: written by the daemon after every change
/// and at each poll, read by `sriov-rdma-dp health` (a probe in another process). The
/// one definition of its keys for both sides.
public struct DaemonStatus: Equatable, Sendable {
    /// Something about one of a pool's devices a person should know that leaves it
    /// healthy toward kubelet, such as an InfiniBand VF with no GUID (`MissingGUID`).
    public struct Note: Hashable, Sendable {
        /// The device ID kubelet sees.
        public var device: String
        public var reason: String

        public init(device: String, reason: String) {
            self.device = device
            self.reason = reason
        }
    }

    public struct Pool: Equatable, Sendable {
        /// kubelet accepted Register.
        public var registered: Bool
        /// kubelet is watching the pool's devices (a ListAndWatch stream is open).
        public var streaming: Bool
        public var socket: String
        public var devices: Int
        /// What the pool waits for from kubelet ("kubelet.sock to accept connections",
        /// "kubelet to open ListAndWatch" ...), nil when registered and watched.
        public var waitingFor: String? = nil
        /// Since when (wall-clock seconds) it waits.
        public var waitingSince: Double? = nil
        /// Notes on its devices, by device ID; they do not make the daemon unhealthy.
        public var notes: [Note] = []
    }

    public var pid: Int
    /// Wall-clock seconds since the epoch when it was written.
    public var updated: Double
    /// The pools being served, by qualified resource name.
    public var pools: [String: Pool]
    /// Every pool the config names, served or not.
    public var configuredPools: [String]

    /// Where the status of a daemon run with `--state-dir stateDirectory` is.
    public static func path(stateDirectory: String) -> String { stateDirectory + "/sriov-rdma-dp/status.json" }

    public var json: JSON {
        let pools = pools.mapValues { pool in
            var members: [String: JSON] = ["registered": .bool(pool.registered), "streaming": .bool(pool.streaming),
                                           "socket": .string(pool.socket), "devices": JSON(pool.devices)]
            if let waitingFor = pool.waitingFor { members["waitingFor"] = .string(waitingFor) }
            if let since = pool.waitingSince { members["waitingSince"] = .number(String(since)) }
            if !pool.notes.isEmpty {
                members["notes"] = .array(pool.notes.map { JSON(sortingKeysOf: ["device": .string($0.device), "reason": .string($0.reason)]) })
            }
            return JSON(sortingKeysOf: members)
        }
        return JSON(sortingKeysOf: [
            "pid": JSON(pid), "updated": .number(String(updated)), "pools": JSON(sortingKeysOf: pools),
            "configuredPools": .array(configuredPools.map { .string($0) }),
        ])
    }

    /// What keeps the daemon from being healthy, in the order a person fixes it: the
    /// daemon gone (`isRunning` says whether a pid lives), a status older than `maxAge`
    /// seconds (a hung daemon), then each pool not served, registered or watched.
    public func problems(now: Double, maxAge: Double, isRunning: (Int) -> Bool) -> [String] {
        var problems: [String] = []
        if pid != 0, !isRunning(pid) { problems.append("daemon pid \(pid) is not running") }
        if now - updated > maxAge { problems.append("status is \(Int(now - updated)) s old") }
        for name in configuredPools where pools[name] == nil { problems.append("\(name): not serving") }
        for (name, pool) in pools.sorted(by: { $0.key < $1.key }) {
            var waiting = ""
            if let what = pool.waitingFor {
                waiting = " (waiting for \(what)" + (pool.waitingSince.map { " for \(max(0, Int(now - $0))) s" } ?? "") + ")"
            }
            if !pool.registered { problems.append("\(name): not registered with kubelet" + waiting) }
            if !pool.streaming { problems.append("\(name): kubelet is not watching its devices" + (pool.registered ? waiting : "")) }
        }
        return problems
    }

    /// Every pool's notes, one line each (`<pool>: <device>: <reason>`), by pool name:
    /// `health` prints them without failing.
    public var noteLines: [String] {
        pools.sorted { $0.key < $1.key }.flatMap { name, pool in pool.notes.map { "\(name): \($0.device): \($0.reason)" } }
    }
}

extension DaemonStatus {
    /// The status in `json`; nil when it is not a status object. Missing values read as
    /// unhealthy ones (not registered, not streaming).
    public init?(json: JSON) {
        guard json.objectValue != nil else { return nil }
        pid = json["pid"]?.intValue ?? 0
        if case .number(let text)? = json["updated"], let seconds = Double(text) { updated = seconds } else { updated = 0 }
        pools = [:]
        for (name, pool) in json["pools"]?.objectValue ?? [] {
            var since: Double?
            if case .number(let text)? = pool["waitingSince"] { since = Double(text) }
            let notes = (pool["notes"]?.arrayValue ?? []).compactMap { note -> Note? in
                guard let device = note["device"]?.stringValue, let reason = note["reason"]?.stringValue else { return nil }
                return Note(device: device, reason: reason)
            }
            pools[name] = Pool(registered: pool["registered"]?.boolValue ?? false, streaming: pool["streaming"]?.boolValue ?? false,
                               socket: pool["socket"]?.stringValue ?? "", devices: pool["devices"]?.intValue ?? 0,
                               waitingFor: pool["waitingFor"]?.stringValue, waitingSince: since, notes: notes)
        }
        configuredPools = (json["configuredPools"]?.arrayValue ?? []).compactMap(\.stringValue)
    }
}
