import Dispatch
import JSONValue
import KubeAPI
import Synchronization
import SystemSupport

/// Where the publisher writes: the API server (`KubeClient`), or a test's recorder.
public protocol SliceStore: Sendable {
    func list(_ path: String, fieldSelector: String?) throws(KubeAPIError) -> [JSON]
    func get(_ path: String) throws(KubeAPIError) -> JSON
    func create(_ path: String, _ body: JSON) throws(KubeAPIError) -> JSON
    func update(_ path: String, _ body: JSON) throws(KubeAPIError) -> JSON
    func delete(_ path: String) throws(KubeAPIError)
}

extension KubeClient: SliceStore {
    public func list(_ path: String, fieldSelector: String?) throws(KubeAPIError) -> [JSON] {
        try list(path, labelSelector: nil, fieldSelector: fieldSelector).items
    }

    public func delete(_ path: String) throws(KubeAPIError) {
        _ = try delete(path, options: nil, notFoundIsError: false)
    }
}

/// Keeps this node's ResourceSlices equal to what the daemon serves through DRA, on a
/// thread of its own so that the API server never holds up the daemon's event loop.
///
/// `publish` hands over the wanted devices of every pool; the newest hand-over wins
/// (a burst of changes is one write). The first pass, and any pass after a failure,
/// lists the slices this driver has for this node (field selectors `spec.nodeName` and
/// `spec.driver`, as kubelet's Go helper watches them) and adopts them. A pool whose
/// devices changed gets the next generation in every one of its slices: existing slices
/// are updated in place (their names stay), missing ones are created, extra ones
/// deleted, so a reader that takes only the highest generation sees one whole pool.
/// Slices of pools no longer served are deleted. A failed pass is retried with backoff
/// (1 s doubling to 30 s) until it succeeds or newer devices arrive. `resync` (kubelet
/// registered the driver: kubelet deletes a node's slices when it starts) and a timer
/// (every `resyncInterval`) list the slices again and repair what differs.
public final class SlicePublisher: Sendable {
    public static let collection = "/apis/resource.k8s.io/v1/resourceslices"

    /// One pass's outcome, for the log and the tests.
    public enum Outcome: Sendable, Equatable {
        case published(writes: Int)
        case failed(String)
    }

    private struct Slice {
        var name: String
        var resourceVersion: String
        var generation: Int
        var devices: [JSON]
        var object: JSON
    }

    private struct Shared {
        var wanted: [String: [JSON]]?
        var stopping = false
        /// Bumped at every publish, so a pass knows whether it worked on the newest.
        var version = 0
        var publishedVersion = -1
        var lastOutcome: Outcome?
        /// List again and repair, even with no new devices.
        var resyncRequested = false
    }

    public let names: DRANames
    let store: any SliceStore
    let builder: ResourceSlices
    let log: @Sendable (String) -> Void
    private let shared = Mutex(Shared())
    private let wake = DispatchSemaphore(value: 0)
    private let thread = Mutex<OSThread?>(nil)
    private let backoff: (first: Duration, limit: Duration)
    let resyncInterval: Duration

    /// `log` gets a line per write and per failure.
    public init(names: DRANames, store: any SliceStore, backoff: (first: Duration, limit: Duration) = (.seconds(1), .seconds(30)),
                resyncInterval: Duration = .seconds(300), log: @escaping @Sendable (String) -> Void) {
        self.names = names
        self.store = store
        builder = ResourceSlices(names: names)
        self.backoff = backoff
        self.resyncInterval = resyncInterval
        self.log = log
    }

    /// Lists the slices again and repairs what differs from the last `publish`
    /// (someone else deleted or changed them: kubelet wipes a node's slices at its start).
    public func resync() {
        shared.withLock { $0.resyncRequested = true }
        wake.signal()
    }

    /// Starts the publishing thread.
    public func start() throws(ThreadStartError) {
        let started = try OSThread.start(name: "dra-slices") { [self] in run() }
        thread.withLock { $0 = started }
    }

    /// The wanted devices of each served pool (pool name → devices as
    /// `ResourceSlices.devices` builds them). An empty dictionary deletes every slice.
    public func publish(_ pools: [String: [JSON]]) {
        shared.withLock { state in
            state.wanted = pools
            state.version += 1
        }
        wake.signal()
    }

    /// Stops the thread: the request under way is the last one sent, unless
    /// `deleteSlices`, when this node's slices are deleted first (a node that stops
    /// serving DRA must not keep advertising devices the scheduler would allocate).
    public func stop(deleteSlices: Bool) {
        if deleteSlices {
            publish([:])
            _ = waitUntilPublished(timeout: .seconds(10))
        }
        shared.withLock { $0.stopping = true }
        wake.signal()
        if let running = thread.withLock({ $0 }) {
            running.join()
            thread.withLock { $0 = nil }
        }
    }

    /// Waits until what was last handed to `publish` is on the API server, or `timeout`
    /// passes: true if it is.
    public func waitUntilPublished(timeout: Duration) -> Bool {
        let deadline = MonotonicInstant.now + timeout
        while MonotonicInstant.now < deadline {
            if shared.withLock({ $0.publishedVersion == $0.version }) { return true }
            sleepBlocking(for: .milliseconds(10))
        }
        return shared.withLock { $0.publishedVersion == $0.version }
    }

    public var lastOutcome: Outcome? { shared.withLock { $0.lastOutcome } }

    // MARK: The publishing thread

    private func run() {
        var known: [String: [Slice]]?
        var delay: Duration?
        var ownerUID: String?
        while true {
            let timedOut: Bool
            if let delay {
                timedOut = wake.wait(timeout: .now() + dispatchInterval(delay)) == .timedOut
            } else {
                timedOut = wake.wait(timeout: .now() + dispatchInterval(resyncInterval)) == .timedOut && known != nil
            }
            let (wanted, version, stopping, resync) = shared.withLock { state in
                defer { state.resyncRequested = false }
                return (state.wanted, state.version, state.stopping, state.resyncRequested)
            }
            if stopping { return }
            if resync || (timedOut && delay == nil) { known = nil }
            guard let wanted, known == nil || shared.withLock({ $0.publishedVersion != version }) else { continue }
            do throws(KubeAPIError) {
                let adopted = known == nil
                if adopted { known = try adopt() }
                if ownerUID == nil && !wanted.isEmpty { ownerUID = nodeUID() }
                var slices = known ?? [:]
                let writes = try sync(wanted, into: &slices, ownerUID: ownerUID, adopted: adopted)
                known = slices
                delay = nil
                shared.withLock { state in
                    if state.version == version { state.publishedVersion = version }
                    state.lastOutcome = .published(writes: writes)
                }
            } catch {
                known = nil  // list again: someone else may have changed them
                if shared.withLock({ $0.stopping }) { return }
                let next = delay.map { min($0 * 2, backoff.limit) } ?? backoff.first
                log("ResourceSlices not published (again in \(next)): \(error)")
                shared.withLock { $0.lastOutcome = .failed(error.description) }
                delay = next
            }
        }
    }

    /// Stops a pass between requests when the daemon is stopping.
    private func checkStopping(_ verb: KubeVerb, _ path: String) throws(KubeAPIError) {
        if shared.withLock({ $0.stopping && !($0.wanted?.isEmpty ?? false) }) {
            throw KubeAPIError(verb: verb, path: path, failure: .request("the daemon is stopping"))
        }
    }

    private var selector: String { "spec.nodeName=\(names.node),spec.driver=\(names.driver)" }

    /// This driver's slices for this node, by pool.
    private func adopt() throws(KubeAPIError) -> [String: [Slice]] {
        var slices: [String: [Slice]] = [:]
        for item in try store.list(Self.collection, fieldSelector: selector) {
            // A server that ignores the selector must not make us adopt others' slices.
            guard let spec = item["spec"], spec["nodeName"]?.stringValue == names.node, spec["driver"]?.stringValue == names.driver,
                  let name = item["metadata"]?["name"]?.stringValue, let pool = spec["pool"]?["name"]?.stringValue else { continue }
            slices[pool, default: []].append(Slice(
                name: name, resourceVersion: item["metadata"]?["resourceVersion"]?.stringValue ?? "",
                generation: spec["pool"]?["generation"]?.intValue ?? 0, devices: spec["devices"]?.arrayValue ?? [], object: item))
        }
        for pool in slices.keys { slices[pool]?.sort { $0.name < $1.name } }
        return slices
    }

    /// The Node's UID, for the slices' owner reference (they go when the node goes);
    /// nil when it cannot be read, and the slices are published without one.
    private func nodeUID() -> String? {
        do throws(KubeAPIError) {
            return try store.get("/api/v1/nodes/\(names.node)")["metadata"]?["uid"]?.stringValue
        } catch {
            log("node \(names.node) not read (\(error)): ResourceSlices are published without the Node as owner")
            return nil
        }
    }

    /// Brings the API server's slices to `wanted`; the number of writes.
    private func sync(_ wanted: [String: [JSON]], into slices: inout [String: [Slice]], ownerUID: String?,
                      adopted: Bool) throws(KubeAPIError) -> Int {
        var writes = 0
        var builder = self.builder
        builder.nodeUID = ownerUID
        for pool in slices.keys.sorted() where wanted[pool] == nil {
            for slice in slices[pool] ?? [] {
                try checkStopping(.delete, Self.collection + "/" + slice.name)
                try store.delete(Self.collection + "/" + slice.name)
                writes += 1
            }
            slices[pool] = nil
            log("ResourceSlices of pool \(pool) deleted")
        }
        for pool in wanted.keys.sorted() {
            let chunks = ResourceSlices.chunks(wanted[pool] ?? [])
            let existing = slices[pool] ?? []
            let generation = existing.map(\.generation).max() ?? 0
            func byName(_ devices: [JSON]) -> [JSON] {
                devices.sorted { ($0["name"]?.stringValue ?? "") < ($1["name"]?.stringValue ?? "") }
            }
            // The same devices however the slices split them (adopted slices come back in name order),
            // one generation, the right count, and the Node as owner once it is known.
            let current = existing.count == chunks.count && existing.allSatisfy { $0.generation == generation }
                && byName(existing.flatMap(\.devices)) == byName(wanted[pool] ?? [])
                && existing.allSatisfy { ResourceSlices.resourceSliceCount(of: $0.object) == chunks.count }
                && existing.allSatisfy { ownerUID == nil || $0.object["metadata"]?["ownerReferences"]?.arrayValue?.first?["uid"]?.stringValue == ownerUID }
            if current && !existing.isEmpty {
                if adopted { log("pool \(pool): generation \(generation), \(wanted[pool]?.count ?? 0) devices in \(chunks.count) ResourceSlices, current") }
                continue
            }
            let next = existing.isEmpty ? 1 : generation + 1
            var published: [Slice] = []
            for (index, devices) in chunks.enumerated() {
                var body = builder.slice(pool: pool, generation: next, count: chunks.count, devices: devices)
                let object: JSON
                try checkStopping(index < existing.count ? .update : .create, Self.collection)
                if index < existing.count {
                    body = body.settingMetadata(name: existing[index].name, resourceVersion: existing[index].resourceVersion)
                    object = try store.update(Self.collection + "/" + existing[index].name, body)
                } else {
                    object = try store.create(Self.collection, body)
                }
                writes += 1
                guard let name = object["metadata"]?["name"]?.stringValue else {
                    throw KubeAPIError(verb: .create, path: Self.collection, failure: .malformedResponse("a ResourceSlice without metadata.name"))
                }
                published.append(Slice(name: name, resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue ?? "",
                                       generation: next, devices: devices, object: object))
            }
            for extra in existing.dropFirst(chunks.count) {
                try store.delete(Self.collection + "/" + extra.name)
                writes += 1
            }
            slices[pool] = published
            log("pool \(pool): generation \(next), \(wanted[pool]?.count ?? 0) devices in \(chunks.count) ResourceSlices")
        }
        return writes
    }
}

extension ResourceSlices {
    /// Devices in slices of at most `maxDevicesPerSlice`; no devices is one empty slice.
    public static func chunks(_ devices: [JSON]) -> [[JSON]] {
        stride(from: 0, to: max(devices.count, 1), by: maxDevicesPerSlice).map {
            Array(devices[min($0, devices.count)..<min($0 + maxDevicesPerSlice, devices.count)])
        }
    }

    static func resourceSliceCount(of slice: JSON) -> Int? {
        slice["spec"]?["pool"]?["resourceSliceCount"]?.intValue
    }
}

extension JSON {
    /// The object with `metadata.name` and `metadata.resourceVersion` set, and
    /// `generateName` gone (an update names its object).
    func settingMetadata(name: String, resourceVersion: String) -> JSON {
        guard case .object(var members) = self else { return self }
        for index in members.indices where members[index].0 == "metadata" {
            guard case .object(var metadata) = members[index].1 else { continue }
            metadata.removeAll { $0.0 == "generateName" || $0.0 == "name" || $0.0 == "resourceVersion" }
            metadata.insert(("name", .string(name)), at: 0)
            if !resourceVersion.isEmpty { metadata.append(("resourceVersion", .string(resourceVersion))) }
            members[index].1 = .object(metadata)
        }
        return .object(members)
    }
}
