import DRACheckpoint
import Foundation
import HostDevices
import JSONValue
import KubeAPI
import Synchronization
import Testing

@testable import DRADriver

/// Claim status applies in memory: each claim's status.devices as server-side apply
/// leaves it for one field manager, the applies in order, and failures on demand.
final class MemoryClaimStatusStore: ClaimStatusStore {
    struct State {
        var devices: [String: [JSON]] = [:]
        var applies: [String] = []
        var failNext: [KubeAPIError.Failure] = []
        var missing: Set<String> = []
    }

    let state = Mutex(State())

    func applyClaimStatus(namespace: String, name: String, _ body: JSON, fieldManager: String) throws(KubeAPIError) {
        try state.withLock { state throws(KubeAPIError) in
            let key = namespace + "/" + name
            state.applies.append(key)
            if !state.failNext.isEmpty {
                throw KubeAPIError(verb: .patch, path: key, failure: state.failNext.removeFirst())
            }
            if state.missing.contains(key) {
                throw KubeAPIError(verb: .patch, path: key, failure: .status(code: 404, reason: "NotFound", message: "gone"))
            }
            state.devices[key] = body["status"]?["devices"]?.arrayValue ?? []
        }
    }

    func devices(_ key: String) -> [JSON]? { state.withLock { $0.devices[key] } }
    var applies: [String] { state.withLock { $0.applies } }
}

/// The preparer's checkpoint as the reporter reads it.
final class PreparedClaims: Sendable {
    let checkpoint = Mutex(ClaimCheckpoint())
    func withLock(_ body: (inout ClaimCheckpoint) -> Void) { checkpoint.withLock { body(&$0) } }
}

@Suite struct ClaimStatusReporterTests {
    let names = try! DRANames(node: "n")
    let address = PCIAddress("0000:01:10.2")!

    func claim(_ uid: String, name: String, preparedAt: String = "2026-12-06T01:00:00Z", mac: String? = nil) -> ClaimCheckpoint.PreparedClaim {
        var parameters = VFParameters()
        if let mac { parameters = try! VFParameters(json: .object([("mac", .string(mac))]), source: "test") }
        return ClaimCheckpoint.PreparedClaim(
            uid: uid, namespace: "team", name: name, state: .prepared, pods: ["pod"],
            devices: [ClaimCheckpoint.PreparedDevice(
                requestNames: ["vf"], pool: "n/example.com/vfs", device: "0000-01-10-2", id: "0000:01:10.2",
                resource: "example.com/vfs", pciAddress: address, shareID: nil, cdiDeviceIDs: [], parameters: parameters,
                applied: nil, attributes: .object([("example.com/vfIndex", .object([("int", JSON(1))]))]))],
            cdiSpecPath: nil, preparedAt: preparedAt)
    }

    /// A CNI state directory with its `attachments/`, removed by the caller.
    func scratchCNIStateDirectory(_ tag: String) throws -> (directory: URL, attachments: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(getpid())-\(UUID())")
        let attachments = directory.appendingPathComponent("attachments")
        try FileManager.default.createDirectory(at: attachments, withIntermediateDirectories: true)
        return (directory, attachments)
    }

    func reporter(_ store: MemoryClaimStatusStore, checkpoint: PreparedClaims, cni: String? = nil,
                  log: @escaping @Sendable (String) -> Void = { _ in }) throws -> ClaimStatusReporter {
        let reporter = ClaimStatusReporter(names: names, store: store, claims: { checkpoint.checkpoint.withLock { $0 } },
                                           cniStateDirectory: cni, interval: .milliseconds(50),
                                           backoff: (.milliseconds(20), .milliseconds(80)), log: log)
        try reporter.start()
        return reporter
    }

    @Test func preparedThenUnpreparedAppliesOnceEachAndRemovesTheEntries() throws {
        let store = MemoryClaimStatusStore()
        let checkpoint = PreparedClaims()
        checkpoint.withLock { $0.claims["u1"] = claim("u1", name: "a", mac: "02:00:00:00:00:01") }
        let reporter = try reporter(store, checkpoint: checkpoint)
        defer { reporter.stop() }
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        let entry = try #require(store.devices("team/a")?.first)
        #expect(entry["conditions"]?.arrayValue?.first?["lastTransitionTime"] == .string("2026-12-06T01:00:00Z"))
        #expect(entry["networkData"] == .object([("hardwareAddress", .string("02:00:00:00:00:01"))]))
        #expect(entry["data"]?["attributes"]?["example.com/vfIndex"] != nil)
        // Passes with nothing new apply nothing.
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        #expect(store.applies == ["team/a"])

        checkpoint.withLock { $0.claims["u1"] = nil }
        reporter.claimsChanged()
        #expect(eventually { store.devices("team/a") == [] })
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        #expect(store.applies == ["team/a", "team/a"])
    }

    @Test func failedAppliesAreRetriedWithBackoffAndInvalidOnesAreNotRepeated() throws {
        let store = MemoryClaimStatusStore()
        store.state.withLock {
            $0.failNext = [.status(code: 503, reason: "ServiceUnavailable", message: nil), .transport(curlCode: 7, text: "refused"),
                           .status(code: 403, reason: "Forbidden", message: "RBAC not there yet")]
        }
        let checkpoint = PreparedClaims()
        checkpoint.withLock { $0.claims["u1"] = claim("u1", name: "a") }
        let lines = Mutex<[String]>([])
        let reporter = try reporter(store, checkpoint: checkpoint, log: { line in lines.withLock { $0.append(line) } })
        defer { reporter.stop() }
        #expect(eventually { store.devices("team/a")?.count == 1 })
        #expect(store.applies.count == 4)
        #expect(lines.withLock { $0 }.filter { $0.contains("status.devices not written (again in") }.count == 3)

        // 422: logged once, not sent again while the body is the same.
        store.state.withLock { $0.failNext = [.status(code: 422, reason: "Invalid", message: "no")] }
        checkpoint.withLock { $0.claims["u2"] = claim("u2", name: "b") }
        reporter.claimsChanged()
        #expect(eventually { lines.withLock { $0 }.contains { $0.contains("team/b: status.devices refused") } })
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        #expect(store.applies.filter { $0 == "team/b" }.count == 1)
    }

    /// The server may have stored an apply that timed out: an Unprepare before any apply
    /// succeeded still removes the entries.
    @Test func aClaimWhoseAppliesFailedIsStillClearedAtUnprepare() throws {
        let store = MemoryClaimStatusStore()
        store.state.withLock { $0.failNext = Array(repeating: .transport(curlCode: 28, text: "timed out"), count: 2) }
        let checkpoint = PreparedClaims()
        checkpoint.withLock { $0.claims["u1"] = claim("u1", name: "a") }
        let reporter = try reporter(store, checkpoint: checkpoint)
        defer { reporter.stop() }
        #expect(eventually { store.applies.count == 2 })
        checkpoint.withLock { $0.claims["u1"] = nil }
        reporter.claimsChanged()
        #expect(eventually { store.devices("team/a") == [] })
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        #expect(store.devices("team/a") == [])
    }

    /// A retry waiting for a body that is no longer wanted (it went back to the applied
    /// one) is dropped: the thread sleeps again instead of passing without pause.
    @Test func aRetryForABodyNoLongerWantedDoesNotKeepTheThreadAwake() throws {
        let (directory, attachments) = try scratchCNIStateDirectory("status-spin")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = MemoryClaimStatusStore()
        let checkpoint = PreparedClaims()
        checkpoint.withLock { $0.claims["u1"] = claim("u1", name: "a") }
        let reporter = ClaimStatusReporter(names: names, store: store, claims: { checkpoint.checkpoint.withLock { $0 } },
                                           cniStateDirectory: directory.path, interval: .milliseconds(200),
                                           backoff: (.milliseconds(20), .milliseconds(20)), log: { _ in })
        try reporter.start()
        defer { reporter.stop() }
        #expect(eventually { store.applies.count == 1 })
        // The record appears, its apply fails, and the record goes before the retry.
        store.state.withLock { $0.failNext = [.status(code: 503, reason: nil, message: nil)] }
        let record = attachments.appendingPathComponent("c1-net1.json")
        try Data(#"{"phase": "added", "ifname": "net1", "deviceID": "0000:01:10.2", "result": {"interfaces": [{"name": "net1", "sandbox": "/x"}]}}"#.utf8).write(to: record)
        reporter.claimsChanged()
        #expect(eventually { store.applies.count == 2 })
        try FileManager.default.removeItem(at: record)
        let passes = { reporter.passCount }
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        let before = passes()
        usleep(600_000)
        // About three passes in 0.6 s at a 0.2 s interval; a spinning thread makes thousands.
        #expect(passes() - before < 20)
        #expect(store.applies.count == 2)
    }

    @Test func onlyAnAttachedNetdevIsANetworkAttachment() throws {
        let attached = try JSON.parse(Array(#"""
            {"phase": "added", "ifname": "net1", "deviceID": "0000:01:10.2",
             "result": {"interfaces": [{"name": "net1", "mac": "02:00:00:00:00:01", "sandbox": "/x"}],
                        "ips": [{"address": "10.0.0.2/24"}]}}
            """#.utf8))
        #expect(NetworkAttachment(record: attached) == NetworkAttachment(interfaceName: "net1", ips: ["10.0.0.2/24"],
                                                                         hardwareAddress: "02:00:00:00:00:01"))
        var userspace = attached
        userspace.set("userspaceDriver", .string("vfio-pci"))
        #expect(NetworkAttachment(record: userspace) == nil)
        var adding = attached
        adding.set("phase", .string("adding"))
        #expect(NetworkAttachment(record: adding) == nil)
    }

    @Test func aGoneClaimIsNotRetried() throws {
        let store = MemoryClaimStatusStore()
        store.state.withLock { $0.missing = ["team/a"] }
        let checkpoint = PreparedClaims()
        checkpoint.withLock { $0.claims["u1"] = claim("u1", name: "a") }
        let reporter = try reporter(store, checkpoint: checkpoint)
        defer { reporter.stop() }
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        #expect(store.applies == ["team/a"])
        #expect(reporter.pending == 0)
    }

    @Test func theCNIRecordGivesNetworkDataUntilItGoes() throws {
        let (directory, attachments) = try scratchCNIStateDirectory("status-cni")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = MemoryClaimStatusStore()
        let checkpoint = PreparedClaims()
        checkpoint.withLock { $0.claims["u1"] = claim("u1", name: "a", mac: "02:00:00:00:00:01") }
        let reporter = try reporter(store, checkpoint: checkpoint, cni: directory.path)
        defer { reporter.stop() }
        #expect(eventually { store.devices("team/a")?.first?["networkData"]?["interfaceName"] == nil && store.applies.count == 1 })

        // Being written (phase adding): not an attachment yet.
        let record = attachments.appendingPathComponent("c1-net1.json")
        func write(phase: String) throws {
            try Data("""
            {"version": 1, "phase": "\(phase)", "network": "dra-vfs", "containerID": "c1", "ifname": "net1", "deviceID": "0000:01:10.2",
             "result": {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "/proc/1/ns/net"},
                        {"name": "net1", "mac": "02:00:00:00:00:01", "sandbox": "/proc/1/ns/net"}],
                        "ips": [{"address": "10.244.0.7/24", "interface": 0}, {"address": "10.56.0.9/24", "interface": 1},
                                {"address": "fd00::9/64", "interface": 1}]}}
            """.utf8).write(to: record)
        }
        try write(phase: "adding")
        #expect(reporter.waitUntilReported(timeout: .seconds(10)))
        #expect(store.applies.count == 1)
        try write(phase: "added")
        #expect(eventually {
            store.devices("team/a")?.first?["networkData"] == .object([
                ("interfaceName", .string("net1")), ("ips", .array([.string("10.56.0.9/24"), .string("fd00::9/64")])),
                ("hardwareAddress", .string("02:00:00:00:00:01")),
            ])
        })
        try FileManager.default.removeItem(at: record)
        #expect(eventually { store.devices("team/a")?.first?["networkData"] == .object([("hardwareAddress", .string("02:00:00:00:00:01"))]) })
    }
}
