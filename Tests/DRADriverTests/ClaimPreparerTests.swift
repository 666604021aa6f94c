import DRADriver
import Foundation
import HostDevices
import JSONValue
import Netlink
import ResourcePools
import SysfsFixtures
import XCTest

/// Prepare and Unprepare apart from gRPC and the API server: claims as the API server
/// returns them (from a table), the pools of a fixture node, a PF applier that records
/// what it is asked (the netlink one is run in the lab), a scratch checkpoint and CDI
/// directory.
final class ClaimPreparerTests: XCTestCase {
    var node: SRIOVNodeFixture!
    var snapshot: HostSnapshot!
    var pools: [ResourcePool]!
    var directory: String!
    let names = try! DRANames(node: "worker-1")
    let reader = TableReader()
    let applier = RecordingApplier()

    override func setUpWithError() throws {
        node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath))
        pools = PoolAssignment(config: try PoolsConfig.parse(Data("""
            {"resourceList": [{"resourceName": "mlnx_rdma", "resourcePrefix": "nvidia.com",
              "selectors": {"vendors": ["15b3"], "isRdma": true}}]}
            """.utf8)), snapshot: snapshot).pools
        directory = node.tree.path + "/dra"
    }

    func preparer() throws -> ClaimPreparer {
        try ClaimPreparer(names: names, checkpointPath: directory + "/checkpoint.json", cdiDirectory: directory + "/cdi",
                          reader: reader, pfSettings: applier)
    }

    /// A claim as the scheduler leaves it: allocated, reserved for a pod.
    func claim(uid: String = "uid-1", devices: [String], configs: [JSON] = [], request: String = "vf") -> JSON {
        let results = devices.map { device -> JSON in
            .object([("request", .string(request)), ("driver", .string(names.driver)), ("pool", .string("worker-1/nvidia.com/mlnx-rdma")),
                     ("device", .string(device))])
        }
        return .object([
            ("metadata", .object([("namespace", .string("team")), ("name", .string("claim-a")), ("uid", .string(uid))])),
            ("status", .object([
                ("allocation", .object([("devices", .object([("results", .array(results)), ("config", .array(configs))]))])),
                ("reservedFor", .array([.object([("resource", .string("pods")), ("name", .string("pod-a")), ("uid", .string("pod-uid"))])])),
            ])),
        ])
    }

    func opaque(_ parameters: String, source: String = "FromClaim", requests: [String] = []) throws -> JSON {
        .object([("source", .string(source)), ("requests", .array(requests.map(JSON.string))),
                 ("opaque", .object([("driver", .string(names.driver)), ("parameters", try JSON.parse(parameters))]))])
    }

    let reference = ClaimReference(namespace: "team", name: "claim-a", uid: "uid-1")

    /// A checkpoint of a daemon that did not record when claims were prepared: they get
    /// a time once, kept from then on (the Ready condition cannot go without one).
    func testClaimsPreparedWithoutATimeGetOneOnce() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(#"{"version": 1, "claims": [{"uid": "old", "namespace": "team", "name": "a", "state": "prepared", "pods": ["p"], "devices": []}]}"#.utf8)
            .write(to: URL(fileURLWithPath: directory + "/checkpoint.json"))
        let since = try XCTUnwrap(try preparer().prepared.claims["old"]?.preparedAt)
        XCTAssertEqual(try ClaimCheckpoint.load(directory + "/checkpoint.json").claims["old"]?.preparedAt, since)
        XCTAssertEqual(try preparer().prepared.claims["old"]?.preparedAt, since)
    }

    func testAClaimIsPreparedWithACDISpecAndCheckpointAndUnprepared() throws {
        reader.claims["team/claim-a"] = claim(devices: ["0000-10-01-1", "0000-10-01-2"])
        let preparer = try preparer()
        let devices = try preparer.prepare([reference], pools: pools, snapshot: snapshot)["uid-1"]!.get()
        XCTAssertEqual(devices.map(\.cdiDeviceIDs), [["sriov-rdma.io/vf=uid-1-0000-10-01-1"], ["sriov-rdma.io/vf=uid-1-0000-10-01-2"]])
        XCTAssertEqual(devices.map(\.id), ["0000:10:01.1", "0000:10:01.2"])
        XCTAssertEqual(devices.map(\.requestNames), [["vf"], ["vf"]])
        let spec = try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/cdi/sriov-rdma.io-uid-1.json"))))
        XCTAssertEqual(spec["kind"]?.stringValue, "sriov-rdma.io/vf")
        XCTAssertEqual(spec["containerEdits"]?["env"], .array([.string("PCIDEVICE_NVIDIA_COM_MLNX_RDMA=0000:10:01.1,0000:10:01.2")]))
        let first = try XCTUnwrap(spec["devices"]?.arrayValue?.first)
        XCTAssertEqual(first["name"]?.stringValue, "uid-1-0000-10-01-1")
        XCTAssertEqual(first["containerEdits"]?["deviceNodes"]?.arrayValue?.compactMap { $0["path"]?.stringValue },
                       ["/dev/infiniband/issm2", "/dev/infiniband/umad2", "/dev/infiniband/uverbs2", "/dev/infiniband/rdma_cm"])
        XCTAssertEqual(first["containerEdits"]?["env"], .array([.string("PCIDEVICE_NVIDIA_COM_MLNX_RDMA_0000_10_01_1=0000:10:01.1")]))
        // CDI (containerd 1.7's registry) refuses a whole spec when one device has no edits.
        for device in spec["devices"]?.arrayValue ?? [] {
            XCTAssertFalse(device["containerEdits"]?["env"]?.arrayValue?.isEmpty ?? true, "\(device)")
        }

        // The checkpoint answers the CNI by pod UID, and a restarted daemon's retried Prepare.
        let restarted = try self.preparer()
        XCTAssertEqual(restarted.prepared.devices(ofPod: "pod-uid").map(\.device.id), ["0000:10:01.1", "0000:10:01.2"])
        reader.claims = [:]  // not read again
        XCTAssertEqual(try restarted.prepare([reference], pools: pools, snapshot: snapshot)["uid-1"]!.get(), devices)
        // The status's Ready time and data, kept from the first Prepare: the same body after a restart.
        XCTAssertEqual(restarted.prepared.claims["uid-1"], preparer.prepared.claims["uid-1"])
        let since = try XCTUnwrap(restarted.prepared.claims["uid-1"]?.preparedAt)
        XCTAssertNotNil(since.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/), since)
        XCTAssertEqual(devices.first?.attributes?["resource.kubernetes.io/pciBusID"], .object([("string", .string("0000:10:01.1"))]))

        XCTAssertEqual(restarted.unprepare([reference])["uid-1"], .some(nil))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/cdi/sriov-rdma.io-uid-1.json"))
        XCTAssertTrue(restarted.prepared.claims.isEmpty)
        // Unprepare again, or of a claim never prepared: nothing to do, no error.
        XCTAssertEqual(restarted.unprepare([reference])["uid-1"], .some(nil))
    }

    func testParametersApplyByRequestClassFirstThenClaimAndAreRestored() throws {
        reader.claims["team/claim-a"] = claim(devices: ["0000-10-01-1"], configs: [
            try opaque(#"{"vlan": 100, "trust": "on", "mtu": 9000}"#, source: "FromClass"),
            try opaque(#"{"apiVersion": "sriov-rdma.io/v1alpha1", "kind": "VFConfig", "vlan": 200, "rdmaIsolation": true}"#,
                       requests: ["vf"]),
            try opaque(#"{"vlan": 300}"#, requests: ["other"]),
        ])
        let preparer = try preparer()
        let device = try XCTUnwrap(try preparer.prepare([reference], pools: pools, snapshot: snapshot)["uid-1"]!.get().first)
        XCTAssertEqual(device.parameters.vlan, 200)
        XCTAssertEqual(device.parameters.trust, true)
        XCTAssertEqual(device.parameters.mtu, 9000)
        XCTAssertEqual(device.parameters.rdmaIsolation, true)
        XCTAssertEqual(applier.applied.map(\.0), [PCIAddress("0000:10:01.1")!])
        XCTAssertEqual(preparer.unprepare([reference])["uid-1"], .some(nil))
        XCTAssertEqual(applier.restored.map(\.vf), [1])
    }

    func testARefusedClaimNamesWhyAndLeavesNothing() throws {
        let cases: [(JSON, String)] = [
            (claim(devices: ["0000-10-01-1"], configs: [try opaque(#"{"vlan": 5000}"#)]),
             "config 0 (FromClaim): invalid vlan 5000: must be an integer in 0...4094"),
            (claim(devices: ["0000-10-01-1"], configs: [try opaque(#"{"vlans": 5}"#)]), "unknown parameter \"vlans\""),
            (claim(devices: ["0000-99-01-1"]), "device 0000-99-01-1 is not in pool worker-1/nvidia.com/mlnx-rdma now"),
            (claim(uid: "uid-2", devices: ["0000-10-01-1"]), "has UID uid-2, kubelet asked for uid-1"),
        ]
        for (json, message) in cases {
            reader.claims["team/claim-a"] = json
            let result = try preparer().prepare([reference], pools: pools, snapshot: snapshot)["uid-1"]!
            guard case .failure(let error) = result else { return XCTFail("prepared: \(json.serialized)") }
            XCTAssertTrue(error.description.contains(message), error.description)
            XCTAssertTrue(error.description.hasPrefix("ResourceClaim team/claim-a: ") || error.description.contains("config"),
                          error.description)
            XCTAssertTrue(try self.preparer().prepared.claims.isEmpty)
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: directory + "/cdi")) ?? [], [])
        }
    }

    func testAFailingPFSettingUndoesTheClaimsEarlierDevices() throws {
        reader.claims["team/claim-a"] = claim(devices: ["0000-10-01-1", "0000-10-01-2"], configs: [try opaque(#"{"vlan": 7}"#)])
        applier.refuse = PCIAddress("0000:10:01.2")
        let result = try preparer().prepare([reference], pools: pools, snapshot: snapshot)["uid-1"]!
        guard case .failure(let error) = result else { return XCTFail("prepared") }
        XCTAssertTrue(error.description.contains("refused"), error.description)
        XCTAssertEqual(applier.restored.map(\.vf), [1], "the first VF's settings put back")
        XCTAssertTrue(try preparer().prepared.claims.isEmpty)
    }

    func testNames() throws {
        XCTAssertEqual(DRANames.device("0000:3b:02.3"), "0000-3b-02-3")
        XCTAssertEqual(DRANames.device("mlx5_core.sf.4"), "mlx5-core-sf-4")
        XCTAssertEqual(names.pool(pools[0].config), "worker-1/nvidia.com/mlnx-rdma")
        XCTAssertThrowsError(try DRANames(driver: "Sriov_RDMA", node: "n"))
        XCTAssertThrowsError(try DRANames(node: "Worker 1"))
    }
}

final class TableReader: ClaimReader, @unchecked Sendable {
    var claims: [String: JSON] = [:]

    struct NotFound: Error, CustomStringConvertible {
        var description: String { "resourceclaims \"claim-a\" not found" }
    }

    func claim(namespace: String, name: String) throws -> JSON {
        guard let claim = claims[namespace + "/" + name] else { throw NotFound() }
        return claim
    }
}

final class RecordingApplier: PFSettingsApplier, @unchecked Sendable {
    var applied: [(PCIAddress, VFParameters)] = []
    var restored: [AppliedPFSettings] = []
    var refuse: PCIAddress?

    struct Refused: Error, CustomStringConvertible { var description: String { "refused (EOPNOTSUPP)" } }

    func apply(_ parameters: VFParameters, to address: PCIAddress, snapshot: HostSnapshot) throws -> AppliedPFSettings? {
        guard parameters.hasPFSettings else { return nil }
        if address == refuse { throw Refused() }
        applied.append((address, parameters))
        let device = snapshot.device(at: address)
        return AppliedPFSettings(pf: device?.pfAddress ?? address, pfNetdev: "pf", vf: device?.vfIndex ?? -1,
                                 original: [.vlan(VFVLAN(id: 0))])
    }

    func restore(_ applied: AppliedPFSettings) throws { restored.append(applied) }
}

final class ResourceSlicesTests: XCTestCase {
    func testPoolsBecomeSlicesWithStandardAndOwnAttributes() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath))
        let pools = PoolAssignment(config: try PoolsConfig.parse(Data("""
            {"resourceList": [{"resourceName": "mlnx_rdma", "resourcePrefix": "nvidia.com", "selectors": {"vendors": ["15b3"], "isRdma": true}},
                              {"resourceName": "none_here", "selectors": {"vendors": ["abcd"]}}]}
            """.utf8)), snapshot: snapshot).pools
        let names = try DRANames(node: "worker-1")
        let slices = ResourceSlices(names: names, nodeUID: "node-uid").slices(pools: pools, snapshot: snapshot, generation: 3)
        XCTAssertEqual(slices.count, 2, "one slice per pool, the empty pool too")
        let spec = try XCTUnwrap(slices[0]["spec"])
        XCTAssertEqual(spec["driver"]?.stringValue, "sriov-rdma.io")
        XCTAssertEqual(spec["nodeName"]?.stringValue, "worker-1")
        XCTAssertEqual(spec["pool"], .object([("name", .string("worker-1/nvidia.com/mlnx-rdma")), ("generation", JSON(3)),
                                              ("resourceSliceCount", JSON(1))]))
        XCTAssertEqual(slices[0]["metadata"]?["ownerReferences"]?.arrayValue?.first?["uid"]?.stringValue, "node-uid")
        let device = try XCTUnwrap(spec["devices"]?.arrayValue?.first { $0["name"]?.stringValue == "0000-10-01-1" })
        let attributes = try XCTUnwrap(device["attributes"])
        XCTAssertEqual(attributes["resource.kubernetes.io/pciBusID"]?["string"]?.stringValue, "0000:10:01.1")
        XCTAssertEqual(attributes["resource.kubernetes.io/pcieRoot"]?["string"]?.stringValue, "pci0000:00")
        XCTAssertEqual(attributes["sriov-rdma.io/resourceName"]?["string"]?.stringValue, "nvidia.com/mlnx_rdma")
        XCTAssertEqual(attributes["sriov-rdma.io/vfIndex"]?["int"]?.intValue, 1)
        XCTAssertEqual(attributes["sriov-rdma.io/vendor"]?["string"]?.stringValue, "15b3")
        XCTAssertNotNil(attributes["sriov-rdma.io/rdmaDevice"]?["string"]?.stringValue)
        // The API's limits: at most 32 attributes, names of a DNS domain and a C identifier of at most 32.
        XCTAssertLessThanOrEqual(attributes.objectValue?.count ?? 99, 32)
        for (name, _) in attributes.objectValue ?? [] {
            let id = name.split(separator: "/").last!
            XCTAssertTrue(id.count <= 32 && id.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, name)
        }
        XCTAssertEqual(slices[1]["spec"]?["devices"], .array([]))
    }

    func testALargePoolIsCutIntoSlicesOf128() throws {
        let node = try SRIOVNodeFixture(pfs: 3, vfsPerPF: 100)
        let snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath))
        let pools = PoolAssignment(config: try PoolsConfig.parse(Data("""
            {"resourceList": [{"resourceName": "all", "selectors": {"vendors": ["15b3"]}}]}
            """.utf8)), snapshot: snapshot).pools
        let total = pools[0].devices.count
        let slices = ResourceSlices(names: try DRANames(node: "n")).slices(pools: pools, snapshot: snapshot, generation: 1)
        XCTAssertEqual(slices.count, (total + 127) / 128)
        XCTAssertEqual(slices.compactMap { $0["spec"]?["devices"]?.arrayValue?.count }.reduce(0, +), total)
        XCTAssertTrue(slices.allSatisfy { $0["spec"]?["pool"]?["resourceSliceCount"]?.intValue == slices.count })
        XCTAssertTrue(slices.allSatisfy { ($0["spec"]?["devices"]?.arrayValue?.count ?? 0) <= 128 })
    }
}
