import CNI
import Foundation
import HostDevices
import JSONValue
import Netlink
import NetnsTestSupport
import SysfsFixtures
@testable import VFAttach
import XCTest

/// A host and a pod for one test, both scratch namespaces: veth ends in the "host"
/// namespace stand in for VF netdevs, a fixture sysfs names their PCI functions, and
/// Debian's host-local is the IPAM delegate. Nothing of this machine's own network
/// is touched.
final class CNIRig {
    let host: ScratchNamespace
    let pod: ScratchNamespace
    let sysfs: SysfsFixture
    let work: URL
    var stateDir: String { work.appendingPathComponent("state").path }
    var ipamDir: String { work.appendingPathComponent("ipam").path }
    let logger = CNILogger(level: .error)

    /// `vfs` stand-in VFs: PCI functions 0000:00:0a.N (not SR-IOV VFs: no physfn), netdevs
    /// vfN in the host namespace, each up, MTU 1500, MAC 02:56:0a:00:00:0N.
    init(vfs: Int = 1) throws {
        host = try ScratchNamespace("host")
        pod = try ScratchNamespace("pod")
        sysfs = try SysfsFixture()
        work = FileManager.default.temporaryDirectory.appendingPathComponent("cni-rig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        for index in 0..<vfs {
            try addStandIn(index)
        }
    }

    func addStandIn(_ index: Int) throws {
        let name = "vf\(index)"
        try host.ip("link", "add", "name", name, "address", "02:56:0a:00:00:0\(index)", "type", "veth", "peer", "name", "\(name)peer")
        try host.ip("link", "set", name, "up")
        let dir = try sysfs.pciFunction(Self.address(index), vendor: "0x8086", device: "0x10ca", classCode: "0x020000",
                                        driver: "igbvf")
        try sysfs.netdev(name, under: dir, mtu: 1500, mac: "02:56:0a:00:00:0\(index)")
    }

    static func address(_ index: Int) -> String { "0000:00:0a.\(index)" }

    func tearDown() {
        host.remove()
        pod.remove()
        try? FileManager.default.removeItem(at: work)
    }

    var attachHost: AttachHost {
        AttachHost(roots: HostRoots(sysRoot: sysfs.path), namespacePath: host.path, lockTimeout: .seconds(2), netdevReturnTimeout: .seconds(1))
    }

    /// A network config; `extra` members are added or replace the defaults.
    func config(version: String = "1.0.0", vf: Int = 0, ipam: Bool = true, _ extra: [(String, JSON)] = []) -> JSON {
        var json = JSON.object([
            ("cniVersion", .string(version)),
            ("name", .string("sriov-net")),
            ("type", .string("sriov-rdma")),
            ("deviceID", .string(Self.address(vf))),
            ("stateDir", .string(stateDir)),
        ])
        if ipam {
            json.set("ipam", .object([
                ("type", .string("host-local")),
                ("subnet", .string("10.56.0.0/24")),
                ("gateway", .string("10.56.0.1")),
                ("routes", .array([.object([("dst", .string("10.57.0.0/16"))])])),
                ("dataDir", .string(ipamDir)),
            ]))
        }
        for (key, value) in extra { json.set(key, value) }
        return json
    }

    func variables(_ command: CNICommand, containerID: String = "cid1", ifname: String = "net1", netns: String? = nil) -> [String: String] {
        [
            "CNI_COMMAND": command.rawValue,
            "CNI_CONTAINERID": containerID,
            "CNI_NETNS": netns ?? pod.path,
            "CNI_IFNAME": ifname,
            "CNI_PATH": "/usr/lib/cni",
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        ]
    }

    func call(_ command: CNICommand, _ config: JSON, containerID: String = "cid1", ifname: String = "net1",
              netns: String? = nil) throws -> CNICall {
        let environment = try CNIEnvironment.parse(variables(command, containerID: containerID, ifname: ifname, netns: netns))
        return CNICall(environment: environment, config: try NetworkConfig.parse(Array(config.serialized.utf8)), logger: logger)
    }

    func plugin(faultInjection: ((ADDStep) throws -> Void)? = nil) -> SRIOVRDMAPlugin {
        var plugin = SRIOVRDMAPlugin(host: attachHost)
        plugin.faultInjection = faultInjection
        return plugin
    }

    @discardableResult
    func add(_ config: JSON, containerID: String = "cid1", ifname: String = "net1",
             faultInjection: ((ADDStep) throws -> Void)? = nil) throws -> CNIResult {
        try reported { try plugin(faultInjection: faultInjection).add(call(.add, config, containerID: containerID, ifname: ifname)) }
    }

    func delete(_ config: JSON, containerID: String = "cid1", ifname: String = "net1", netns: String? = nil) throws {
        try reported { try plugin().delete(call(.del, config, containerID: containerID, ifname: ifname, netns: netns)) }
    }

    func check(_ config: JSON, containerID: String = "cid1", ifname: String = "net1") throws {
        try reported { try plugin().check(call(.check, config, containerID: containerID, ifname: ifname)) }
    }

    /// Errors as the runtime sees them: CNISkeleton reports every error as a CNI error.
    func reported<T>(_ body: () throws -> T) throws(CNIError) -> T {
        do { return try body() } catch { throw CNIError(reporting: error) }
    }

    /// Everything ADD could change: both namespaces (links with details, addresses,
    /// routes), our state files (lock files excepted: they stay by design), and the
    /// addresses host-local holds.
    func snapshot() throws -> String {
        let files = { (root: String, skip: (String) -> Bool) -> String in
            let enumerator = FileManager.default.enumerator(atPath: root)
            var names: [String] = []
            while let name = enumerator?.nextObject() as? String {
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDirectory)
                if !isDirectory.boolValue && !skip(name) { names.append(name) }
            }
            return names.sorted().joined(separator: ",")
        }
        return """
            host: \(try host.snapshot())
            pod: \(try pod.snapshot())
            state: \(files(stateDir) { $0.hasPrefix("locks/") })
            ipam: \(files(ipamDir) { $0.hasSuffix("/lock") || $0.contains("last_reserved_ip") })
            """
    }

    func podLink(_ name: String = "net1") throws -> LinkInfo? {
        try RouteNetlink(in: NetworkNamespace.open(path: pod.path)).link(named: name)
    }

    func hostLink(_ name: String) throws -> LinkInfo? {
        try RouteNetlink(in: NetworkNamespace.open(path: host.path)).link(named: name)
    }

    /// The addresses host-local has handed out (one file per address).
    func ipamAllocations() -> [String] {
        let dir = ipamDir + "/sriov-net"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.first?.isNumber == true }.sorted()
    }
}

/// The error a test injects into ADD.
struct InjectedFailure: Error, CustomStringConvertible {
    var step: String
    var description: String { "injected failure after \(step)" }
}

func cniErrorCode(_ error: Error) -> Int? { (error as? CNIError)?.code }
