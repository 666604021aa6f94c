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
/// (1 s doubling to 30 s) until it succeeds or newer devices arrive.
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
    }

    public let names: DRANames
    let store: any SliceStore
    let builder: ResourceSlices
    let log: @Sendable (String) -> Void
    private let shared = Mutex(Shared())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let thread = Mutex<OSThread?>(nil)
    private let backoff: (first: Duration, limit: Duration)

    /// `log` gets a line per write and per failure.
    public init(names: DRANames, store: any SliceStore, backoff: (first: Duration, limit: Duration) = (.seconds(1), .seconds(30)),
                log: @escaping @Sendable (String) -> Void) {
        self.names = names
        self.store = store
        builder = ResourceSlices(names: names)
        self.backoff = backoff
        self.log = log
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

    /// Stops the thread after the pass under way; with `deleteSlices`, this node's
    /// slices are deleted first (a node that stops serving DRA must not keep
    /// advertising devices the scheduler would allocate).
    public func stop(deleteSlices: Bool) {
        if deleteSlices { publish([:]) }
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
            if let delay {
                _ = wake.wait(timeout: .now() + .milliseconds(Int(delay.components.seconds) * 1000 + Int(delay.components.attoseconds / 1_000_000_000_000_000)))
            } else {
                wake.wait()
            }
            let (wanted, version, stopping) = shared.withLock { ($0.wanted, $0.version, $0.stopping) }
            if let wanted, shared.withLock({ $0.publishedVersion != version }) {
                do throws(KubeAPIError) {
                    if known == nil { known = try adopt() }
                    if ownerUID == nil && !wanted.isEmpty { ownerUID = nodeUID() }
                    var slices = known ?? [:]
                    let writes = try sync(wanted, into: &slices, ownerUID: ownerUID)
                    known = slices
                    delay = nil
                    shared.withLock { state in
                        if state.version == version { state.publishedVersion = version }
                        state.lastOutcome = .published(writes: writes)
                    }
                } catch {
                    known = nil  // list again: someone else may have changed them
                    let next = delay.map { min($0 * 2, backoff.limit) } ?? backoff.first
                    log("ResourceSlices not published (again in \(next)): \(error)")
                    shared.withLock { $0.lastOutcome = .failed(error.description) }
                    delay = next
                    if stopping { return }
                    continue
                }
            }
            if stopping { return }
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
    private func sync(_ wanted: [String: [JSON]], into slices: inout [String: [Slice]], ownerUID: String?) throws(KubeAPIError) -> Int {
        var writes = 0
        var builder = self.builder
        builder.nodeUID = ownerUID
        for pool in slices.keys.sorted() where wanted[pool] == nil {
            for slice in slices[pool] ?? [] {
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
            let current = existing.count == chunks.count && existing.allSatisfy { $0.generation == generation }
                && zip(existing, chunks).allSatisfy { $0.devices == $1 }
                && existing.allSatisfy { ResourceSlices.resourceSliceCount(of: $0.object) == chunks.count }
            if current && !existing.isEmpty { continue }
            let next = existing.isEmpty ? 1 : generation + 1
            var published: [Slice] = []
            for (index, devices) in chunks.enumerated() {
                var body = builder.slice(pool: pool, generation: next, count: chunks.count, devices: devices)
                let object: JSON
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
