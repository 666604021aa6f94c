import CNI
import HostDevices
import Netlink

/// GC (SPEC §2 GC, 1.1.0): detaches every attachment of this network that the
/// runtime no longer lists in `cni.dev/valid-attachments`, continuing past failures,
/// then forwards GC to IPAM. STATUS: ready unless the state directory is unusable.
struct StatusAndGC {
    let call: CNICall
    let host: AttachHost
    let stateDir: String

    func garbageCollect() throws {
        let json = call.config.json
        let listed = json["cni.dev/valid-attachments"] ?? json["cni.dev/attachments"]
        guard let entries = listed?.arrayValue else {
            throw CNIError(.invalidNetworkConfig, "GC needs cni.dev/valid-attachments")
        }
        var valid = Set<String>()
        for entry in entries {
            guard let containerID = entry["containerID"]?.stringValue, let ifname = entry["ifname"]?.stringValue else {
                throw CNIError(.invalidNetworkConfig, "cni.dev/valid-attachments entry without containerID and ifname",
                               details: entry.serialized)
            }
            valid.insert("\(containerID)-\(ifname)")
        }
        let detach = DetachVF(call: call, host: host, stateDir: stateDir)
        let state = detach.state
        state.removeAbandonedTemporaries(in: ["attachments", "allocations"], logger: call.logger)
        var failures: [String] = []
        let hostNamespace = try host.openNamespace()
        for file in state.list("attachments", suffix: ".json") {
            let key = String(file.dropLast(".json".count))
            guard !valid.contains(key) else { continue }
            let record: AttachmentRecord
            do {
                guard let json = try state.read("attachments/" + file) else { continue }
                record = try AttachmentRecord(json: json, file: stateDir + "/attachments/" + file)
            } catch {
                failures.append("\(file): \(error)")
                continue
            }
            guard record.network == call.config.name, !valid.contains("\(record.containerID)-\(record.ifname)") else { continue }
            do {
                let lock = try state.lock("locks/\(record.deviceID).lock", timeout: host.lockTimeout, purpose: "VF \(record.deviceID)")
                defer { withExtendedLifetime(lock) {} }
                try detach.restore(record, podNamespace: detach.openIfAlive(record.netns), hostNamespace: hostNamespace,
                                   netnsWasGiven: false)
                try state.remove(record.fileName)
                let allocation = AllocationRecord.fileName(record.deviceID)
                if let json = try state.read(allocation), let owner = AllocationRecord(json: json),
                   owner.belongs(to: record.containerID, record.ifname) {
                    try state.remove(allocation)
                }
                call.logger.info("GC detached stale attachment \(record.containerID)/\(record.ifname) (VF \(record.deviceID))")
            } catch {
                call.logger.error("GC could not detach \(record.containerID)/\(record.ifname): \(error)")
                failures.append("\(record.containerID)/\(record.ifname): \(error)")
            }
        }
        if let type = call.config.ipamType {
            do {
                let ipam = try PluginDelegate(type: type, environment: call.environment)
                if try ipam.supportedVersions(asking: call.config.cniVersionText).contains(call.config.cniVersion) {
                    try ipam.garbageCollect(call.config)
                } else {
                    call.logger.info("\(type) does not serve \(call.config.cniVersionText): IPAM GC skipped")
                }
            } catch {
                failures.append("IPAM GC: \(error)")
            }
        }
        guard failures.isEmpty else {
            throw CNIError(.deviceOperationFailed, "GC could not clean up everything", details: failures.joined(separator: "; "))
        }
    }

    func status() throws {
        let state = StateDirectory(path: stateDir)
        do {
            try state.prepare(["attachments", "allocations", "locks"])
            try state.write("status-probe.json", .object([]))
            try state.remove("status-probe.json")
        } catch {
            throw CNIError(.pluginNotAvailable, "the state directory \(stateDir) is unusable", details: error.description)
        }
        if let type = call.config.ipamType {
            let ipam = try PluginDelegate(type: type, environment: call.environment)
            if try ipam.supportedVersions(asking: call.config.cniVersionText).contains(call.config.cniVersion) {
                try ipam.status(call.config)
            }
        }
    }
}
