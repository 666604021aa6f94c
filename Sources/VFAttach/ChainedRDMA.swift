import CNI
import HostDevices
import JSONValue
import Netlink

/// Type `rdma`: rdma-cni's chained mode. After a plugin that put the VF's netdev in the
/// pod (sriov, or ours), ADD moves the VF's RDMA device into the pod's namespace and
/// passes prevResult through; DEL moves it back. The VF comes from `deviceID` (Multus
/// injects it into every plugin of the list), `runtimeConfig.deviceID`, the device-info
/// file, or else the `pciID` of CNI_IFNAME in prevResult. When our own step already
/// moved the device (type sriov-rdma, or sriov with `rdmaIsolation: true`), ADD changes
/// nothing and says so. As rdma-cni, it needs exclusive RDMA netns mode.
struct ChainedRDMA {
    let call: CNICall
    let host: AttachHost

    var state: StateDirectory { StateDirectory(path: SRIOVNetConf.stateDir(call.config.json)) }

    func add() throws -> CNIResult {
        guard let previous = call.config.prevResult else {
            throw CNIError(.invalidNetworkConfig, "type rdma is a chained plugin and needs prevResult",
                           details: "list it after the plugin that attaches the VF, as {\"type\": \"rdma\"} in a conflist")
        }
        let environment = call.environment
        let (address, source) = try device(previous)
        let podNamespace: NetworkNamespace
        do {
            podNamespace = try NetworkNamespace.open(path: environment.netns)
        } catch {
            throw CNIError(.invalidNetns, "cannot use CNI_NETNS \(environment.netns)", details: "\(error)")
        }
        let hostNamespace = try host.openNamespace()
        let state = self.state
        try state.prepare(["rdma", "locks"])

        if let moved = movedByOurAttachStep(address) {
            call.logger.info("RDMA device \(moved) of VF \(address) is in the pod already (moved with the VF); passing the result on")
            return previous
        }
        let lock = try state.lock("locks/\(address).lock", timeout: host.lockTimeout, purpose: "VF \(address)")
        defer { withExtendedLifetime(lock) {} }

        guard let location = try VFLocation.locate(address, roots: host.roots) else {
            throw CNIError(.deviceOperationFailed, "VF \(address) (\(source)) does not exist on this node")
        }
        guard let name = location.rdmaDevices.first else {
            throw CNIError(.deviceOperationFailed, "VF \(address) (\(source)) has no RDMA device in the host namespace",
                           details: "a VF without RDMA (driver \(location.driver ?? "none")), or one already in another namespace")
        }
        let move = try AttachPlan.RDMAMove.prepare(name, vf: address, hostNamespace: hostNamespace)
        let record = ChainedRDMARecord(network: call.config.name, containerID: environment.containerID, ifname: environment.ifname,
                                       netns: environment.netns, deviceID: address, device: name)
        try state.write(record.fileName, record.json)
        do {
            try move.netlink.moveDevice(index: move.entry.index, name: name, to: podNamespace)
        } catch {
            try? state.remove(record.fileName)
            if let error = error as? NetlinkError { throw RDMAIsolationError.moveRefused(device: name, vf: address, error) }
            throw error
        }
        call.logger.info("moved RDMA device \(name) of VF \(address) into \(environment.netns)")
        return previous
    }

    /// Moves the device back when this plugin moved it; succeeds when there is nothing
    /// to do, when the pod namespace is gone (the kernel returns the device) and when
    /// called twice.
    func delete() throws {
        let environment = call.environment
        let file = ChainedRDMARecord.fileName(containerID: environment.containerID, ifname: environment.ifname)
        guard let json = try? state.read(file), let record = ChainedRDMARecord(json: json) else {
            call.logger.info("no RDMA device was moved for this attachment")
            try? state.remove(file)
            return
        }
        let netnsPath = environment.netns.isEmpty ? record.netns : environment.netns
        if let podNamespace = try? NetworkNamespace.open(path: netnsPath) {
            let hostNamespace = try host.openNamespace()
            let podRDMA = try RDMANetlink(in: podNamespace)
            if let entry = try podRDMA.devices().first(where: { $0.name == record.device }) {
                try podRDMA.moveDevice(index: entry.index, name: entry.name, to: hostNamespace)
                call.logger.info("returned RDMA device \(record.device) of VF \(record.deviceID) to the host namespace")
            }
        } else {
            call.logger.info("pod netns \(netnsPath) is gone; the kernel returns RDMA device \(record.device) to the host")
        }
        try state.remove(file)
    }

    /// The RDMA device this attachment moved is in the pod's namespace.
    func check() throws {
        guard call.config.prevResult != nil else {
            throw CNIError(.invalidNetworkConfig, "type rdma is a chained plugin and needs prevResult")
        }
        let environment = call.environment
        let file = ChainedRDMARecord.fileName(containerID: environment.containerID, ifname: environment.ifname)
        let device: String
        if let json = try state.read(file), let record = ChainedRDMARecord(json: json) {
            device = record.device
        } else if let address = try? self.device(call.config.prevResult!).0, let moved = movedByOurAttachStep(address) {
            device = moved
        } else {
            throw CNIError(.checkFailed, "no RDMA device was moved into the pod for \(environment.containerID)/\(environment.ifname)")
        }
        let podNamespace: NetworkNamespace
        do {
            podNamespace = try NetworkNamespace.open(path: environment.netns)
        } catch {
            throw CNIError(.invalidNetns, "cannot use CNI_NETNS \(environment.netns)", details: "\(error)")
        }
        guard try RDMANetlink(in: podNamespace).devices().contains(where: { $0.name == device }) else {
            throw CNIError(.checkFailed, "RDMA device \(device) is not in the pod's network namespace \(environment.netns)")
        }
    }

    /// The VF: from the config's own keys when it has any, else from prevResult.
    private func device(_ previous: CNIResult) throws(CNIError) -> (PCIAddress, String) {
        let json = call.config.json
        let named = ["deviceID", "pciBusID"].contains { json[$0].map { !$0.isNull } ?? false }
            || ["deviceID", "CNIDeviceInfoFile"].contains { json["runtimeConfig"]?[$0].map { !$0.isNull } ?? false }
        if named { return try SRIOVNetConf.deviceID(json) }
        let ifname = call.environment.ifname
        let interface = previous.interfaces.first { $0.name == ifname && $0.sandbox != nil && $0.pciID != nil }
        guard let text = interface?.pciID else {
            throw CNIError(.invalidNetworkConfig, "type rdma: no VF to take the RDMA device of",
                           details: "set deviceID (Multus adds it from the network's resourceName), runtimeConfig.deviceID, "
                               + "or chain after a plugin whose result gives \(ifname) a pciID")
        }
        guard let address = PCIAddress(text) else {
            throw CNIError(.invalidNetworkConfig, "prevResult: pciID \(text) of \(ifname) is not a PCI address")
        }
        return (address, "prevResult pciID of \(ifname)")
    }

    /// The RDMA device our attach step moved with this attachment's VF, if it did.
    private func movedByOurAttachStep(_ address: PCIAddress) -> String? {
        let detach = DetachVF(call: call, host: host, stateDir: state.path)
        guard let record = try? detach.loadRecord(containerID: call.environment.containerID, ifname: call.environment.ifname),
              record.deviceID == address, let rdma = record.rdma, rdma.moved else { return nil }
        return rdma.device
    }
}

/// What chained ADD moved, at `<stateDir>/rdma/<containerID>-<ifname>.json`.
struct ChainedRDMARecord: Equatable, Sendable {
    /// The network's name, the attachment (container and interface) and the pod's netns path.
    var network, containerID, ifname, netns: String
    var deviceID: PCIAddress
    /// The RDMA device that was moved.
    var device: String

    static func fileName(containerID: String, ifname: String) -> String { "rdma/\(containerID)-\(ifname).json" }
    var fileName: String { Self.fileName(containerID: containerID, ifname: ifname) }

    var json: JSON {
        .object([("version", JSON(1)), ("network", .string(network)), ("containerID", .string(containerID)),
                 ("ifname", .string(ifname)), ("netns", .string(netns)), ("deviceID", .string(deviceID.description)),
                 ("rdmaDevice", .string(device))])
    }
}

extension ChainedRDMARecord {
    init?(json: JSON) {
        guard let network = json["network"]?.stringValue, let containerID = json["containerID"]?.stringValue,
              let ifname = json["ifname"]?.stringValue, let netns = json["netns"]?.stringValue,
              let deviceID = json["deviceID"]?.stringValue.flatMap(PCIAddress.init), let device = json["rdmaDevice"]?.stringValue
        else { return nil }
        self.init(network: network, containerID: containerID, ifname: ifname, netns: netns, deviceID: deviceID, device: device)
    }
}
