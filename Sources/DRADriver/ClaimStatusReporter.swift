import DRACheckpoint
import Dispatch
import HostDevices
import JSONValue
import KubeAPI
import Synchronization
import SystemSupport

/// A VF our CNI attached to a pod, as its state record says (`<stateDir>/attachments/
/// <containerID>-<ifname>.json`, phase `added`): the claim status's `networkData`.
public struct NetworkAttachment: Equatable, Sendable {
    public var interfaceName: String
    /// CIDR strings, as IPAM gave them (`10.56.0.5/24`).
    public var ips: [String]
    public var hardwareAddress: String?

    public init(interfaceName: String, ips: [String], hardwareAddress: String?) {
        self.interfaceName = interfaceName
        self.ips = ips
        self.hardwareAddress = hardwareAddress
    }

    /// The attachments recorded in a CNI state directory, by the VF's PCI address. A
    /// record being written (`adding`) or unreadable is not an attachment; a missing
    /// directory is none.
    public static func read(stateDirectory: String) -> [PCIAddress: NetworkAttachment] {
        let directory = stateDirectory + "/attachments"
        var found: [PCIAddress: NetworkAttachment] = [:]
        for file in (try? listDirectory(directory)) ?? [] where file.hasSuffix(".json") {
            guard let bytes = try? readFile(directory + "/" + file), let record = try? JSON.parse(bytes),
                  let attachment = NetworkAttachment(record: record),
                  let address = record["deviceID"]?.stringValue.flatMap(PCIAddress.init) else { continue }
            found[address] = attachment
        }
        return found
    }

    /// From one record: its interface in the result (by name, in a sandbox) and that
    /// interface's addresses.
    init?(record: JSON) {
        // A VF on a userspace driver (DPDK) has no interface in the pod to report.
        guard record["phase"]?.stringValue == "added", record["userspaceDriver"] == nil,
              let ifname = record["ifname"]?.stringValue, !ifname.isEmpty else { return nil }
        let interfaces = record["result"]?["interfaces"]?.arrayValue ?? []
        let index = interfaces.firstIndex { $0["name"]?.stringValue == ifname && $0["sandbox"]?.stringValue?.isEmpty == false }
        interfaceName = ifname
        hardwareAddress = index.flatMap { interfaces[$0]["mac"]?.stringValue }
        ips = (record["result"]?["ips"]?.arrayValue ?? []).compactMap { ip in
            guard let address = ip["address"]?.stringValue else { return nil }
            // A result with one interface may leave `interface` out.
            if let owner = ip["interface"]?.intValue { return owner == index ? address : nil }
            return interfaces.count <= 1 ? address : nil
        }
    }
}

/// Keeps the `status.devices` of this node's claims equal to what is prepared, on a
/// thread of its own (a slow API server never holds up kubelet's Prepare):
///
/// - a prepared claim gets its entries (`ClaimStatus.prepared`), with the Ready
///   condition's `lastTransitionTime` from the checkpoint, so a retried Prepare or a
///   restarted daemon applies the same body and the server changes nothing;
/// - when our CNI has attached a VF (its state directory's record) the entry gains the
///   interface name and addresses, and loses them when the VF is detached;
/// - an unprepared claim's entries are removed (an empty apply), a claim that is gone
///   (404) needs nothing;
/// - a failed apply is retried, 1 s doubling to 30 s, until it succeeds or the claim's
///   status is no longer wanted; a body the server refuses as invalid (400, 422) is
///   logged and sent again only when it changes.
///
/// Work is level-triggered: every pass compares what is wanted now with what was
/// applied last, so a burst of changes is one apply per claim. A pass runs when
/// `claimsChanged` is called and every `interval` (for the CNI's records).
public final class ClaimStatusReporter: Sendable {
    private struct Applied: Equatable {
        var namespace: String
        var name: String
        var body: JSON
    }

    private struct Shared {
        var stopping = false
        var passes = 0
        /// Claims whose wanted status is not on the server (tests, health).
        var pending = 0
    }

    let names: DRANames
    let store: any ClaimStatusStore
    let claims: @Sendable () -> ClaimCheckpoint
    let cniStateDirectory: String?
    let interval: Duration
    let backoff: (first: Duration, limit: Duration)
    let log: @Sendable (String) -> Void
    private let shared = Mutex(Shared())
    private let wake = DispatchSemaphore(value: 0)
    private let thread = Mutex<OSThread?>(nil)

    /// `claims` is the preparer's checkpoint now; `cniStateDirectory` where our CNI
    /// keeps its records (nil: no network data beyond the claim's MAC).
    public init(names: DRANames, store: any ClaimStatusStore, claims: @escaping @Sendable () -> ClaimCheckpoint,
                cniStateDirectory: String?, interval: Duration = .seconds(1),
                backoff: (first: Duration, limit: Duration) = (.seconds(1), .seconds(30)),
                log: @escaping @Sendable (String) -> Void) {
        self.names = names
        self.store = store
        self.claims = claims
        self.cniStateDirectory = cniStateDirectory
        self.interval = interval
        self.backoff = backoff
        self.log = log
    }

    public func start() throws(ThreadStartError) {
        let started = try OSThread.start(name: "dra-status") { [self] in run() }
        thread.withLock { $0 = started }
    }

    /// A claim was prepared or unprepared: a pass now.
    public func claimsChanged() { wake.signal() }

    /// Stops the thread after the apply under way.
    public func stop() {
        shared.withLock { $0.stopping = true }
        wake.signal()
        if let running = thread.withLock({ $0 }) {
            running.join()
            thread.withLock { $0 = nil }
        }
    }

    /// Waits for a pass that started after this call and left nothing pending: true if
    /// one came within `timeout`.
    public func waitUntilReported(timeout: Duration) -> Bool {
        let start = shared.withLock { $0.passes }
        wake.signal()
        let deadline = MonotonicInstant.now + timeout
        while MonotonicInstant.now < deadline {
            if shared.withLock({ $0.passes > start + 1 && $0.pending == 0 }) { return true }
            sleepBlocking(for: .milliseconds(10))
        }
        return false
    }

    /// Claims whose status is not (yet) what is wanted.
    public var pending: Int { shared.withLock { $0.pending } }

    /// Passes made so far (tests).
    var passCount: Int { shared.withLock { $0.passes } }

    // MARK: The status thread

    private func run() {
        var applied: [String: Applied] = [:]
        /// Claim UID → when to try again and the delay after that.
        var retry: [String: (at: MonotonicInstant, delay: Duration)] = [:]
        /// Bodies the server refused as invalid: not sent again until they change.
        var refused: [String: JSON] = [:]
        /// Claims whose apply failed before any succeeded: the server may have stored it
        /// (a timeout), so an Unprepare clears them too.
        var attempted: [String: Applied] = [:]
        while true {
            let wait = retry.values.map { $0.at }.min().map { min(max($0 - MonotonicInstant.now, .zero), interval) } ?? interval
            _ = wake.wait(timeout: .now() + dispatchInterval(wait))
            if shared.withLock({ $0.stopping }) { return }

            let network = cniStateDirectory.map { NetworkAttachment.read(stateDirectory: $0) } ?? [:]
            var wanted: [String: Applied] = [:]
            for claim in claims().claims.values where claim.state == .prepared {
                wanted[claim.uid] = Applied(namespace: claim.namespace, name: claim.name,
                                            body: ClaimStatus.prepared(claim, names: names, network: network))
            }
            var clearing: Set<String> = []
            for (uid, old) in attempted.merging(applied, uniquingKeysWith: { $1 }) where wanted[uid] == nil {
                clearing.insert(uid)
                wanted[uid] = Applied(namespace: old.namespace, name: old.name,
                                      body: ClaimStatus.unprepared(namespace: old.namespace, name: old.name, uid: uid))
            }
            var pending = 0
            let now = MonotonicInstant.now
            for (uid, want) in wanted.sorted(by: { $0.key < $1.key }) where applied[uid] != want {
                // A dead API server costs each apply its timeouts: the daemon stopping
                // does not wait for the rest.
                if shared.withLock({ $0.stopping }) { return }
                if refused[uid] == want.body { continue }
                if let next = retry[uid], next.at > now { pending += 1; continue }
                do throws(KubeAPIError) {
                    try store.applyClaimStatus(namespace: want.namespace, name: want.name, want.body, fieldManager: names.driver)
                    applied[uid] = want
                    retry[uid] = nil
                    refused[uid] = nil
                    attempted[uid] = nil
                } catch where error.httpStatus == 404 {
                    applied[uid] = want  // the claim is gone, and its status with it
                    retry[uid] = nil
                } catch where Self.isRefusal(error) {
                    log("claim \(want.namespace)/\(want.name): status.devices refused: \(error)")
                    retry[uid] = nil
                    if clearing.contains(uid) { applied[uid] = want } else { refused[uid] = want.body }
                } catch {
                    let delay = retry[uid].map { min($0.delay * 2, backoff.limit) } ?? backoff.first
                    log("claim \(want.namespace)/\(want.name): status.devices not written (again in \(delay)): \(error)")
                    retry[uid] = (MonotonicInstant.now + delay, delay)
                    if applied[uid] == nil && !clearing.contains(uid) { attempted[uid] = want }
                    pending += 1
                }
            }
            // Claims unprepared and cleared (or gone, or refused): nothing more to apply.
            for uid in clearing where applied[uid] == wanted[uid] {
                applied[uid] = nil
                attempted[uid] = nil
            }
            // Nothing left to do for a claim whose wanted body is the one applied (it went
            // back while a retry waited): its retry must not keep the thread from sleeping.
            for uid in Array(retry.keys) where wanted[uid] == nil || applied[uid] == wanted[uid] { retry[uid] = nil }
            for uid in Array(refused.keys) where wanted[uid] == nil || applied[uid] == wanted[uid] { refused[uid] = nil }
            shared.withLock { state in
                state.passes += 1
                state.pending = pending
            }
        }
    }

    /// The server will not take this body (400 Bad Request, 422 Invalid): sending it
    /// again changes nothing. 401 and 403 (a token being rotated, RBAC being applied)
    /// may pass later and are retried.
    static func isRefusal(_ error: KubeAPIError) -> Bool {
        error.httpStatus == 400 || error.httpStatus == 422
    }
}

/// A Duration as DispatchSemaphore.wait takes it (the DRA driver's threads sleep on one).
func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
    .milliseconds(Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000))
}
