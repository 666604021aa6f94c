import CNI
import DRACheckpoint
import HostDevices
import JSONValue
import Netlink

/// A network whose config has `"dra"`: the VFs come from the DRA driver, not from the
/// network. The driver prepared them for the pod (its checkpoint lists them by pod UID,
/// with their claim's parameters); this plugin, on the pod's network path (chained
/// after the cluster's primary plugin, or through Multus), attaches each of them:
///
///     {"cniVersion": "1.0.0", "name": "dra-vfs", "type": "sriov-rdma",
///      "dra": {"checkpoint": "/var/lib/kubelet/plugins/sriov-rdma.io/checkpoint.json", "ifnamePrefix": "net"},
///      "ipam": {"type": "host-local", "subnet": "10.56.0.0/24"}}
///
/// Each VF is attached as by a single-VF ADD (its own state record, lock and rollback)
/// under the first free `<ifnamePrefix><n>` (n from 1), with the claim's `mtu` and
/// `rdmaIsolation`; the VF settings were applied by the driver at Prepare. The result
/// is prevResult with these interfaces added. When an attach fails, those before it
/// are detached and ADD fails: a pod never starts without its devices. A pod the
/// driver prepared nothing for passes prevResult on unchanged. No NRI is involved.
struct AttachDRA {
    let call: CNICall
    let host: AttachHost

    static let defaultCheckpoint = "/var/lib/kubelet/plugins/sriov-rdma.io/checkpoint.json"

    var settings: (checkpoint: String, prefix: String) {
        get throws(CNIError) {
            let dra = call.config.json["dra"]
            switch dra {
            case .bool(true)?, .object?: break
            default: throw CNIError(.invalidNetworkConfig, "invalid dra \(dra?.serialized ?? "null"): must be true or an object")
            }
            let checkpoint = try SRIOVNetConf.string(dra ?? .null, "checkpoint") ?? Self.defaultCheckpoint
            let prefix = try SRIOVNetConf.string(dra ?? .null, "ifnamePrefix") ?? "net"
            guard checkpoint.hasPrefix("/") else {
                throw SRIOVNetConf.invalid("dra.checkpoint", .string(checkpoint), "must be an absolute path")
            }
            guard prefix.utf8.count <= 12, InterfaceName(prefix + "1") != nil else {
                throw SRIOVNetConf.invalid("dra.ifnamePrefix", .string(prefix), "must make interface names of at most 15 characters")
            }
            return (checkpoint, prefix)
        }
    }

    static func isDRA(_ config: NetworkConfig) -> Bool { config.json["dra"] != nil }

    func add() throws -> CNIResult {
        let (path, prefix) = try settings
        guard let podUID = call.environment.arg("K8S_POD_UID"), !podUID.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "dra: CNI_ARGS has no K8S_POD_UID",
                           details: "the runtime (kubelet through CRI, or Multus) passes it; without it the pod's claims cannot be found")
        }
        let checkpoint: ClaimCheckpoint
        do {
            checkpoint = try ClaimCheckpoint.load(path)
        } catch {
            throw CNIError(.deviceOperationFailed, "dra: cannot read the DRA driver's checkpoint", details: error.description)
        }
        let devices = checkpoint.devices(ofPod: podUID).filter { $0.device.pciAddress != nil }
        var result = call.config.prevResult ?? CNIResult()
        guard !devices.isEmpty else {
            call.logger.info("dra: nothing prepared for pod \(podUID) in \(path): passing prevResult on")
            return result
        }
        let podNetlink = try RouteNetlink(in: openNamespace(call.environment.netns))
        var taken = Set(try podNetlink.links().map(\.name))
        var attached: [String] = []
        do {
            for (claim, device) in devices {
                var index = 1
                while taken.contains(prefix + String(index)) { index += 1 }
                let ifname = prefix + String(index)
                taken.insert(ifname)
                let (deviceCall, conf) = try self.call(for: device, ifname: ifname)
                let one = try AttachVF(call: deviceCall, conf: conf, host: host).run()
                attached.append(ifname)
                call.logger.info("dra: claim \(claim.namespace)/\(claim.name) device \(device.device) (\(device.id)) attached as \(ifname)")
                let offset = result.interfaces.count
                result.interfaces += one.interfaces
                result.ips += one.ips.map { CNIResult.IPConfig(address: $0.address, gateway: $0.gateway, interface: $0.interface.map { $0 + offset }) }
                result.routes += one.routes
                if result.dns.isEmpty { result.dns = one.dns }
            }
        } catch {
            for ifname in attached.reversed() {
                do { try detach(ifname) } catch { call.logger.error("dra: detaching \(ifname) after a failed ADD: \(error)") }
            }
            throw error
        }
        return result
    }

    /// Every VF this network attached to the container, from the state records.
    func delete() throws {
        var failures: [String] = []
        for ifname in attachedInterfaces() {
            do { try detach(ifname) } catch { failures.append("\(ifname): \(error)") }
        }
        if !failures.isEmpty {
            throw CNIError(.deviceOperationFailed, "dra: could not detach every VF", details: failures.joined(separator: "; "))
        }
    }

    func check() throws {
        guard let podUID = call.environment.arg("K8S_POD_UID"), !podUID.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "dra: CNI_ARGS has no K8S_POD_UID")
        }
        let (path, _) = try settings
        let prepared = (try? ClaimCheckpoint.load(path))?.devices(ofPod: podUID) ?? []
        let attached = attachedInterfaces()
        guard attached.count == prepared.count else {
            throw CNIError(.checkFailed, "dra: \(prepared.count) devices are prepared for pod \(podUID), \(attached.count) are attached")
        }
        let detach = DetachVF(call: call, host: host, stateDir: SRIOVNetConf.stateDir(call.config.json))
        for ifname in attached {
            guard let record = try detach.loadRecord(containerID: call.environment.containerID, ifname: ifname),
                  let device = prepared.first(where: { $0.device.pciAddress == record.deviceID })?.device else {
                throw CNIError(.checkFailed, "dra: \(ifname) is not one of the pod's prepared devices")
            }
            let (deviceCall, conf) = try self.call(for: device, ifname: ifname, keepingPrevResult: true)
            try CheckVF(call: deviceCall, conf: conf, host: host).run()
        }
    }

    /// The interfaces this network's records name for the container.
    func attachedInterfaces() -> [String] {
        let state = StateDirectory(path: SRIOVNetConf.stateDir(call.config.json))
        let prefix = call.environment.containerID + "-"
        return state.list("attachments", suffix: ".json").compactMap { file -> String? in
            guard file.hasPrefix(prefix), let json = try? state.read("attachments/" + file),
                  json["network"]?.stringValue == call.config.name, json["containerID"]?.stringValue == call.environment.containerID
            else { return nil }
            return json["ifname"]?.stringValue
        }.sorted()
    }

    private func detach(_ ifname: String) throws {
        let environment = environment(ifname)
        let single = CNICall(environment: environment, config: try singleConfig(device: nil), logger: call.logger)
        try DetachVF(call: single, host: host, stateDir: SRIOVNetConf.stateDir(call.config.json)).run()
    }

    /// One VF's call: this network's config without `dra` and prevResult, with the VF
    /// and its claim's `mtu` and `rdmaIsolation`, under `ifname`.
    private func call(for device: ClaimCheckpoint.PreparedDevice, ifname: String,
                      keepingPrevResult: Bool = false) throws -> (CNICall, SRIOVNetConf) {
        let environment = environment(ifname)
        let config = try singleConfig(device: device, ifname: ifname, keepingPrevResult: keepingPrevResult)
        let single = CNICall(environment: environment, config: config, logger: call.logger)
        let conf = try SRIOVNetConf(config: config, environment: environment,
                                    defaultRDMAIsolation: PluginType(call.config.type) == .sriovRDMA)
        return (single, conf)
    }

    /// The call's environment for one VF: CNI_IFNAME is what IPAM delegates are handed.
    private func environment(_ ifname: String) -> CNIEnvironment {
        var environment = call.environment
        environment.ifname = ifname
        if environment.variables["CNI_IFNAME"] != nil { environment.variables["CNI_IFNAME"] = ifname }
        return environment
    }

    /// (CHECK keeps prevResult: each VF's CHECK reads its own interface there.)
    private func singleConfig(device: ClaimCheckpoint.PreparedDevice?, ifname: String = "", keepingPrevResult: Bool = false) throws(CNIError) -> NetworkConfig {
        guard case .object(let members) = call.config.json else { throw CNIError(.decodingFailure, "network config is not a JSON object") }
        var kept = members.filter { !["dra", "deviceID", "mtu", "rdmaIsolation", "prevResult"].contains($0.0) }
        if keepingPrevResult, let previous = call.config.prevResult,
           let index = previous.interfaces.firstIndex(where: { $0.name == ifname }) {
            // Its own interface and addresses only: the primary plugin's routes and the
            // other VFs' are not this VF's to check.
            let own = CNIResult(interfaces: [previous.interfaces[index]],
                                ips: previous.ips.filter { $0.interface == index }.map {
                                    CNIResult.IPConfig(address: $0.address, gateway: $0.gateway, interface: 0)
                                })
            kept.append(("prevResult", own.json(version: call.config.cniVersion)))
        }
        if let device {
            if let address = device.pciAddress { kept.append(("deviceID", .string(address.description))) }
            if let mtu = device.parameters.mtu { kept.append(("mtu", JSON(Int(mtu)))) }
            if let isolation = device.parameters.rdmaIsolation { kept.append(("rdmaIsolation", .bool(isolation))) }
        }
        return try NetworkConfig.parse(Array(JSON.object(kept).serialized.utf8))
    }

    private func openNamespace(_ path: String) throws(CNIError) -> NetworkNamespace {
        do {
            return try NetworkNamespace.open(path: path)
        } catch {
            throw CNIError(.invalidNetns, "cannot use CNI_NETNS \(path)", details: "\(error)")
        }
    }
}
