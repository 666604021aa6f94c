import HostDevices
import JSONValue

extension ResourcePool {
    /// The pool's CDI spec file name: one file per pool, named after its resource.
    public var cdiSpecFileName: String { "sriov-rdma_\(config.resourcePrefix)_\(config.resourceName).json" }

    /// The pool's CDI spec (cdiVersion 0.6.0): kind `cdiKind`, one CDI device per pool
    /// device with the device nodes and environment its Allocate gives.
    public func cdiSpec(snapshot: HostSnapshot) -> JSON {
        let devices: [JSON] = devices.compactMap { device in
            guard let allocation = try? allocation(ids: [device.id], snapshot: snapshot) else { return nil }
            let nodes = allocation.devices.map {
                JSON(sortingKeysOf: ["path": $0.containerPath, "hostPath": $0.hostPath, "permissions": $0.permissions])
            }
            let env = allocation.envs.sorted { $0.key < $1.key }.map { JSON.string("\($0.key)=\($0.value)") }
            return JSON(sortingKeysOf: ["name": .string(device.id),
                                        "containerEdits": JSON(sortingKeysOf: ["deviceNodes": .array(nodes), "env": .array(env)])])
        }
        return JSON(sortingKeysOf: ["cdiVersion": .string("0.6.0"), "kind": .string(cdiKind), "devices": .array(devices)])
    }
}
