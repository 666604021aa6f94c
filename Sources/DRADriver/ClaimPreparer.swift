import DRACheckpoint
import HostDevices
import JSONValue
import ResourcePools
import Synchronization
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// Where Prepare reads a claim: the API server (`KubeClient`), or a test's table.
public protocol ClaimReader: Sendable {
    /// The ResourceClaim object as the API returns it.
    func claim(namespace: String, name: String) throws -> JSON
}

/// A claim as kubelet names it in NodePrepareResources and NodeUnprepareResources.
public struct ClaimReference: Equatable, Sendable {
    public var namespace: String
    public var name: String
    public var uid: String

    public init(namespace: String, name: String, uid: String) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}

/// NodePrepareResources and NodeUnprepareResources, apart from gRPC: a claim's devices
/// found in this node's pools, its parameters applied through the PF, one CDI spec per
/// claim written, all of it checkpointed. Both are idempotent: a retried Prepare returns
/// what the first returned, across daemon restarts; Unprepare of an unknown claim succeeds.
public final class ClaimPreparer: Sendable {
    public let names: DRANames
    public let checkpointPath: String
    public let cdiDirectory: String
    let reader: any ClaimReader
    let pfSettings: any PFSettingsApplier
    private let checkpoint: Mutex<ClaimCheckpoint>

    public init(names: DRANames, checkpointPath: String, cdiDirectory: String, reader: any ClaimReader,
                pfSettings: any PFSettingsApplier = NetlinkPFSettings()) throws(DRAError) {
        self.names = names
        self.checkpointPath = checkpointPath
        self.cdiDirectory = cdiDirectory
        self.reader = reader
        self.pfSettings = pfSettings
        var loaded = try ClaimCheckpoint.load(checkpointPath)
        // Claims prepared by a daemon that did not record when: the Ready condition needs
        // a time (kube-apiserver refuses a condition without lastTransitionTime), and it
        // must stay the same from now on.
        let undated = loaded.claims.values.filter { $0.state == .prepared && $0.preparedAt == nil }.map(\.uid)
        if !undated.isEmpty {
            for uid in undated { loaded.claims[uid]?.preparedAt = rfc3339(time(nil)) }
            try loaded.save(checkpointPath)
        }
        checkpoint = Mutex(loaded)
    }

    /// The checkpoint as it is now.
    public var prepared: ClaimCheckpoint { checkpoint.withLock { $0 } }

    /// Prepares each claim: its devices, or why not.
    public func prepare(_ claims: [ClaimReference], pools: [ResourcePool],
                        snapshot: HostSnapshot) -> [String: Result<[ClaimCheckpoint.PreparedDevice], DRAError>] {
        // Claims are read before the checkpoint is locked: a slow API server must not hold
        // up other Prepare and Unprepare calls.
        let prepared = checkpoint.withLock { checkpoint in
            Set(claims.filter { checkpoint.claims[$0.uid]?.state == .prepared }.map(\.uid))
        }
        var read: [String: Result<JSON, any Error>] = [:]
        for claim in claims where !prepared.contains(claim.uid) && read[claim.uid] == nil {
            read[claim.uid] = Result { try reader.claim(namespace: claim.namespace, name: claim.name) }
        }
        return checkpoint.withLock { checkpoint in
            var results: [String: Result<[ClaimCheckpoint.PreparedDevice], DRAError>] = [:]
            for claim in claims {
                do throws(DRAError) {
                    results[claim.uid] = .success(try prepare(claim, read: read[claim.uid], pools: pools, snapshot: snapshot,
                                                              checkpoint: &checkpoint))
                } catch {
                    results[claim.uid] = .failure(error)
                }
            }
            return results
        }
    }

    /// Unprepares each claim: nil, or why it failed (kubelet calls again).
    public func unprepare(_ claims: [ClaimReference]) -> [String: DRAError?] {
        checkpoint.withLock { checkpoint in
            var results: [String: DRAError?] = [:]
            for claim in claims {
                do throws(DRAError) {
                    try unprepare(claim.uid, checkpoint: &checkpoint)
                    results[claim.uid] = .some(nil)
                } catch {
                    results[claim.uid] = .some(error)
                }
            }
            return results
        }
    }

    private func prepare(_ reference: ClaimReference, read: Result<JSON, any Error>?, pools: [ResourcePool], snapshot: HostSnapshot,
                         checkpoint: inout ClaimCheckpoint) throws(DRAError) -> [ClaimCheckpoint.PreparedDevice] {
        if let existing = checkpoint.claims[reference.uid] {
            if existing.state == .prepared { return existing.devices }
            // A Prepare cut short (the daemon died): undo what it recorded, then start again.
            try unprepare(reference.uid, checkpoint: &checkpoint)
        }
        let json: JSON
        do {
            json = try (read ?? Result { try reader.claim(namespace: reference.namespace, name: reference.name) }).get()
        } catch {
            throw .claim(namespace: reference.namespace, name: reference.name, "cannot be read: \(error)")
        }
        let claim = try ResourceClaim(json: json, expectedUID: reference.uid)
        func fail(_ why: String) -> DRAError { .claim(namespace: claim.namespace, name: claim.name, why) }
        let results = claim.results(of: names.driver)
        guard !results.isEmpty else { throw fail("has no device of driver \(names.driver) allocated") }

        var entry = ClaimCheckpoint.PreparedClaim(
            uid: claim.uid, namespace: claim.namespace, name: claim.name, state: .preparing,
            pods: claim.reservedFor.filter { $0.resource == "pods" || $0.resource.isEmpty }.map(\.uid), devices: [],
            cdiSpecPath: nil)
        var found: [(ResourcePool, PoolDevice)] = []
        for result in results {
            guard let pool = pools.first(where: { names.pool($0.config) == result.pool }) else {
                throw fail("pool \(result.pool) is not served on node \(names.node) "
                           + "(it serves \(pools.map { names.pool($0.config) }.joined(separator: ", ")))")
            }
            guard let device = pool.devices.first(where: { DRANames.device($0.id) == result.device }) else {
                throw fail("device \(result.device) is not in pool \(result.pool) now")
            }
            var parameters = VFParameters()
            for (index, config) in claim.configs(for: result).enumerated() {
                parameters = parameters.merging(try VFParameters(json: config.parameters, source: "config \(index) (\(config.source))"))
            }
            parameters = try parameters.validated("request \(result.request)")
            if parameters.hasPFSettings, result.adminAccess {
                throw fail("request \(result.request) has admin access to \(result.device): VF settings would change another claim's device")
            }
            found.append((pool, device))
            entry.devices.append(ClaimCheckpoint.PreparedDevice(
                requestNames: [result.requestName], pool: result.pool, device: result.device, id: device.id,
                resource: pool.qualifiedName, pciAddress: device.pciAddress, shareID: result.shareID, cdiDeviceIDs: [],
                parameters: parameters, applied: nil,
                attributes: ResourceSlices(names: names).device(pool: pool, device: device, snapshot: snapshot)["attributes"]))
        }
        checkpoint.claims[claim.uid] = entry
        try checkpoint.save(checkpointPath)

        do throws(DRAError) {
            for index in entry.devices.indices {
                guard let address = entry.devices[index].pciAddress else { continue }
                do {
                    entry.devices[index].applied = try pfSettings.apply(entry.devices[index].parameters, to: address, snapshot: snapshot)?.json
                } catch let error as DRAError {
                    throw error
                } catch {
                    throw fail("VF settings on \(address): \(error)")
                }
                checkpoint.claims[claim.uid] = entry
                try checkpoint.save(checkpointPath)
            }
            let spec = try cdiSpec(entry, found: found, snapshot: snapshot)
            let path = cdiDirectory + "/\(names.driver)-\(claim.uid).json"
            do {
                try createDirectories(cdiDirectory)
                try writeFileAtomically(Array(spec.json.prettyPrinted.utf8), to: path)
            } catch {
                throw fail("cannot write its CDI spec \(path): \(error)")
            }
            entry.cdiSpecPath = path
            for index in entry.devices.indices { entry.devices[index].cdiDeviceIDs = [spec.ids[index]] }
            entry.state = .prepared
            entry.preparedAt = rfc3339(time(nil))
            checkpoint.claims[claim.uid] = entry
            try checkpoint.save(checkpointPath)
            return entry.devices
        } catch {
            checkpoint.claims[claim.uid] = entry
            try? unprepare(claim.uid, checkpoint: &checkpoint)
            throw error
        }
    }

    private func unprepare(_ uid: String, checkpoint: inout ClaimCheckpoint) throws(DRAError) {
        guard let entry = checkpoint.claims[uid] else { return }
        var failures: [String] = []
        for device in entry.devices {
            guard let applied = device.applied.flatMap(AppliedPFSettings.init(json:)) else { continue }
            do {
                try pfSettings.restore(applied)
            } catch {
                failures.append("VF \(applied.vf) on \(applied.pfNetdev): \(error)")
            }
        }
        if let path = entry.cdiSpecPath, unlink(path) != 0, errno != ENOENT {
            failures.append("cannot remove \(path): \(String(cString: strerror(errno)))")
        }
        guard failures.isEmpty else {
            // Kept: kubelet retries, and the next try restores what is still recorded.
            throw .claim(namespace: entry.namespace, name: entry.name, "unprepare failed: " + failures.joined(separator: "; "))
        }
        checkpoint.claims[uid] = nil
        try checkpoint.save(checkpointPath)
    }

    /// One CDI spec per claim (cdiVersion 0.6.0, kind `<driver>/vf`): a device per
    /// prepared device, named `<claim UID>-<device>` so that claims never collide, with
    /// the device nodes the device plugin's Allocate gives and its own variable
    /// `PCIDEVICE_<RESOURCE>_<DEVICE>=<id>` (CDI refuses a device without edits, and a
    /// VF with no RDMA device has no nodes: containerd 1.7 then refused the whole spec);
    /// the `PCIDEVICE_*` variables of each pool, for all of the claim's devices of that
    /// pool, at spec level.
    func cdiSpec(_ entry: ClaimCheckpoint.PreparedClaim, found: [(ResourcePool, PoolDevice)],
                 snapshot: HostSnapshot) throws(DRAError) -> (json: JSON, ids: [String]) {
        let kind = names.driver + "/vf"
        var devices: [JSON] = []
        var ids: [String] = []
        var env: [String: String] = [:]
        for (index, (pool, device)) in found.enumerated() {
            let allocation: ContainerAllocation
            do {
                allocation = try pool.allocation(ids: [device.id], snapshot: snapshot)
            } catch {
                throw .claim(namespace: entry.namespace, name: entry.name, "device \(device.id): \(error)")
            }
            let name = "\(entry.uid)-\(entry.devices[index].device)"
            let nodes = allocation.devices.map {
                JSON(sortingKeysOf: ["path": $0.containerPath, "hostPath": $0.hostPath, "permissions": $0.permissions])
            }
            let variable = pool.environmentVariable
            let own = variable + "_" + String(entry.devices[index].device.uppercased().map { $0 == "-" ? "_" : $0 })
            devices.append(JSON(sortingKeysOf: ["name": .string(name), "containerEdits": JSON(sortingKeysOf: [
                "deviceNodes": .array(nodes), "env": .array([.string("\(own)=\(device.id)")]),
            ])]))
            ids.append("\(kind)=\(name)")
            env[variable] = env[variable].map { $0 + "," + device.id } ?? device.id
        }
        let spec = JSON(sortingKeysOf: [
            "cdiVersion": .string("0.6.0"), "kind": .string(kind), "devices": .array(devices),
            "containerEdits": JSON(sortingKeysOf: ["env": .array(env.sorted { $0.key < $1.key }.map { .string("\($0.key)=\($0.value)") })]),
        ])
        return (spec, ids)
    }
}
