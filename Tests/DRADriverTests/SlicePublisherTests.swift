import JSONValue
import KubeAPI
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import DRADriver

/// An API server's ResourceSlice collection in memory, as the server behaves: names from
/// generateName, resourceVersions, a stale update refused with 409, field selectors,
/// and failures on demand.
final class MemorySliceStore: SliceStore {
    struct State {
        var objects: [String: JSON] = [:]
        var version = 0
        var writes: [String] = []
        var failNext: [KubeAPIError.Failure] = []
        var node: JSON? = .object([("metadata", .object([("name", .string("n")), ("uid", .string("node-uid"))]))])
    }

    let state = Mutex(State())

    private func fail(_ verb: KubeVerb, _ path: String, _ state: inout State) throws(KubeAPIError) {
        if !state.failNext.isEmpty { throw KubeAPIError(verb: verb, path: path, failure: state.failNext.removeFirst()) }
    }

    func list(_ path: String, fieldSelector: String?) throws(KubeAPIError) -> [JSON] {
        try state.withLock { state throws(KubeAPIError) in
            try fail(.list, path, &state)
            let wanted = (fieldSelector ?? "").split(separator: ",").map { $0.split(separator: "=").map(String.init) }
            return state.objects.sorted { $0.key < $1.key }.map(\.value).filter { object in
                wanted.allSatisfy { pair in object["spec"]?[String(pair[0].dropFirst("spec.".count))]?.stringValue == pair[1] }
            }
        }
    }

    func get(_ path: String) throws(KubeAPIError) -> JSON {
        try state.withLock { state throws(KubeAPIError) in
            guard let node = state.node else { throw KubeAPIError(verb: .get, path: path, failure: .status(code: 403, reason: "Forbidden", message: "no")) }
            return node
        }
    }

    func create(_ path: String, _ body: JSON) throws(KubeAPIError) -> JSON {
        try state.withLock { state throws(KubeAPIError) in
            try fail(.create, path, &state)
            state.version += 1
            let name = (body["metadata"]?["generateName"]?.stringValue ?? "") + "x\(state.version)"
            var object = body
            var metadata = body["metadata"] ?? .object([])
            metadata.set("name", .string(name))
            metadata.remove("generateName")
            metadata.set("resourceVersion", .string(String(state.version)))
            object.set("metadata", metadata)
            state.objects[name] = object
            state.writes.append("create \(name)")
            return object
        }
    }

    func update(_ path: String, _ body: JSON) throws(KubeAPIError) -> JSON {
        try state.withLock { state throws(KubeAPIError) in
            try fail(.update, path, &state)
            let name = String(path.split(separator: "/").last!)
            guard let current = state.objects[name] else { throw KubeAPIError(verb: .update, path: path, failure: .status(code: 404, reason: "NotFound", message: nil)) }
            guard body["metadata"]?["resourceVersion"] == current["metadata"]?["resourceVersion"] else {
                throw KubeAPIError(verb: .update, path: path, failure: .status(code: 409, reason: "Conflict", message: "modified"))
            }
            state.version += 1
            var object = body
            var metadata = body["metadata"] ?? .object([])
            metadata.set("resourceVersion", .string(String(state.version)))
            object.set("metadata", metadata)
            state.objects[name] = object
            state.writes.append("update \(name)")
            return object
        }
    }

    func delete(_ path: String) throws(KubeAPIError) {
        try state.withLock { state throws(KubeAPIError) in
            try fail(.delete, path, &state)
            let name = String(path.split(separator: "/").last!)
            state.objects[name] = nil
            state.writes.append("delete \(name)")
        }
    }

    var slices: [JSON] { state.withLock { state in state.objects.sorted { $0.key < $1.key }.map(\.value) } }
    func takeWrites() -> [String] {
        state.withLock { state in
            defer { state.writes = [] }
            return state.writes
        }
    }
}

/// Whether `condition` holds within 10 s, looked at every 10 ms.
func eventually(_ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        usleep(10_000)
    }
    return true
}

@Suite struct SlicePublisherTests {
    let names = try! DRANames(node: "n")
    let pool = "n/example.com/vfs"

    func devices(_ count: Int, from: Int = 0) -> [JSON] {
        (from..<from + count).map { .object([("name", .string("dev-\($0)")), ("attributes", .object([]))]) }
    }

    func publisher(_ store: MemorySliceStore) throws -> SlicePublisher {
        let publisher = SlicePublisher(names: names, store: store, backoff: (.milliseconds(20), .milliseconds(100)), log: { _ in })
        try publisher.start()
        return publisher
    }

    func generations(_ store: MemorySliceStore) -> [Int] {
        store.slices.compactMap { $0["spec"]?["pool"]?["generation"]?.intValue }
    }

    @Test func publishesSplitsUpdatesInPlaceAndDeletes() throws {
        let store = MemorySliceStore()
        let publisher = try publisher(store)
        defer { publisher.stop(deleteSlices: false) }
        publisher.publish([pool: devices(130)])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.takeWrites() == ["create n-sriov-rdma.io-x1", "create n-sriov-rdma.io-x2"])
        let first = store.slices
        #expect(first.map { $0["spec"]?["devices"]?.arrayValue?.count } == [128, 2])
        #expect(first.allSatisfy { $0["spec"]?["pool"] == .object([("name", .string(pool)), ("generation", JSON(1)), ("resourceSliceCount", JSON(2))]) })
        #expect(first[0]["metadata"]?["ownerReferences"]?.arrayValue?.first?["uid"] == .string("node-uid"))

        // The same devices again: nothing written.
        publisher.publish([pool: devices(130)])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.takeWrites() == [])

        // Fewer devices: the first slice updated in place, the second deleted, generation 2.
        publisher.publish([pool: devices(5)])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.takeWrites() == ["update n-sriov-rdma.io-x1", "delete n-sriov-rdma.io-x2"])
        #expect(generations(store) == [2])
        #expect(store.slices[0]["spec"]?["pool"]?["resourceSliceCount"] == JSON(1))

        // No pools: everything goes.
        publisher.publish([:])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.slices.isEmpty)
    }

    @Test func anEmptyPoolIsOneEmptySlice() throws {
        let store = MemorySliceStore()
        let publisher = try publisher(store)
        defer { publisher.stop(deleteSlices: false) }
        publisher.publish([pool: []])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.slices.map { $0["spec"]?["devices"] } == [.array([])])
    }

    @Test func aRestartedPublisherAdoptsItsSlicesAndLeavesOthers() throws {
        let store = MemorySliceStore()
        let first = try publisher(store)
        first.publish([pool: devices(3)])
        #expect(first.waitUntilPublished(timeout: .seconds(10)))
        first.stop(deleteSlices: false)
        // Another node's slice and another driver's, which a server without field selectors would return too.
        _ = try store.create("/", .object([("metadata", .object([("generateName", .string("other-"))])),
                                           ("spec", .object([("nodeName", .string("m")), ("driver", .string("sriov-rdma.io")),
                                                             ("pool", .object([("name", .string("m/x")), ("generation", JSON(4))]))]))]))
        _ = store.takeWrites()

        let second = try publisher(store)
        defer { second.stop(deleteSlices: false) }
        second.publish([pool: devices(3)])
        #expect(second.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.takeWrites() == [])
        second.publish([pool: devices(4)])
        #expect(second.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.takeWrites() == ["update n-sriov-rdma.io-x1"])
        #expect(store.slices.count == 2)
    }

    @Test func failuresAreRetriedAfterListingAgain() throws {
        let store = MemorySliceStore()
        let publisher = try publisher(store)
        defer { publisher.stop(deleteSlices: false) }
        publisher.publish([pool: devices(2)])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        _ = store.takeWrites()
        // Someone else changed the slice (its resourceVersion moved) and the server then failed once.
        store.state.withLock { state in
            state.version += 1
            state.objects["n-sriov-rdma.io-x1"]?.set("metadata", .object([
                ("name", .string("n-sriov-rdma.io-x1")), ("resourceVersion", .string(String(state.version)))]))
        }
        publisher.publish([pool: devices(3)])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        // The 409 made it list again and update over the current version.
        #expect(store.takeWrites() == ["update n-sriov-rdma.io-x1"])
        #expect(store.slices.first?["spec"]?["devices"]?.arrayValue?.count == 3)
        #expect(publisher.lastOutcome == .published(writes: 1))

        // A server that fails twice: retried with backoff until it works.
        store.state.withLock { $0.failNext = [.status(code: 503, reason: "ServiceUnavailable", message: nil), .transport(curlCode: 7, text: "refused")] }
        publisher.publish([pool: devices(4)])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.takeWrites() == ["update n-sriov-rdma.io-x1"])
        #expect(generations(store) == [3])
    }

    @Test func resyncRepublishesSlicesSomeoneElseDeleted() throws {
        let store = MemorySliceStore()
        let publisher = try publisher(store)
        defer { publisher.stop(deleteSlices: false) }
        publisher.publish([pool: devices(3)])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        // kubelet's start: every slice of the node deleted behind our back.
        store.state.withLock { $0.objects = [:] }
        _ = store.takeWrites()
        publisher.resync()
        #expect(eventually { !store.slices.isEmpty })
        #expect(store.takeWrites().count == 1)
        #expect(store.slices.first?["spec"]?["devices"]?.arrayValue?.count == 3)
    }

    @Test func theNodeOwnerIsAddedOnceTheNodeCanBeRead() throws {
        let store = MemorySliceStore()
        store.state.withLock { $0.node = nil }
        let publisher = try publisher(store)
        defer { publisher.stop(deleteSlices: false) }
        publisher.publish([pool: devices(1)])
        #expect(publisher.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.slices[0]["metadata"]?["ownerReferences"] == nil)
        store.state.withLock { $0.node = .object([("metadata", .object([("name", .string("n")), ("uid", .string("node-uid"))]))]) }
        publisher.resync()
        #expect(eventually { store.slices[0]["metadata"]?["ownerReferences"] != nil })
        #expect(store.slices[0]["metadata"]?["ownerReferences"]?.arrayValue?.first?["uid"] == .string("node-uid"))
    }

    @Test func aRestartedPublisherKeepsAPoolOfManySlices() throws {
        let store = MemorySliceStore()
        let first = try publisher(store)
        first.publish([pool: devices(300)])
        #expect(first.waitUntilPublished(timeout: .seconds(10)))
        first.stop(deleteSlices: false)
        _ = store.takeWrites()
        let second = try publisher(store)
        defer { second.stop(deleteSlices: false) }
        second.publish([pool: devices(300)])
        #expect(second.waitUntilPublished(timeout: .seconds(10)))
        #expect(store.takeWrites() == [])
    }
}
