@_exported import DeviceInfoSpec
import HostDevices
import JSONValue

/// A device node for the container: host path, path inside, permissions.
public struct DeviceNodeSpec: Hashable, Sendable {
    public var containerPath: String
    public var hostPath: String
    public var permissions = "rw"
}

/// A Multus device-info file to write at Allocate: where, and what.
public struct DeviceInfoFile: Equatable, Sendable {
    public var path: String
    public var info: DeviceInfo

    public init(path: String, info: DeviceInfo) {
        self.path = path
        self.info = info
    }

    /// The file's text.
    public var contents: String { info.json.serialized }
}

/// Everything Allocate returns for one container request.
public struct ContainerAllocation: Equatable, Sendable {
    public var envs: [String: String] = [:]
    public var devices: [DeviceNodeSpec] = []
    public var cdiDevices: [String] = []
    public var annotations: [String: String] = [:]
    public var deviceInfoFiles: [DeviceInfoFile] = []
}

public struct AllocationOptions: Sendable {
    /// Return CDI device names instead of device nodes (the runtime injects them).
    public var useCDI = false
    /// Where device-info files go: `/var/run/k8s.cni.cncf.io/devinfo/dp` on a node.
    public var deviceInfoDirectory = "/var/run/k8s.cni.cncf.io/devinfo/dp"
    public init(useCDI: Bool = false, deviceInfoDirectory: String = "/var/run/k8s.cni.cncf.io/devinfo/dp") {
        self.useCDI = useCDI
        self.deviceInfoDirectory = deviceInfoDirectory
    }
}

public enum AllocationError: Error, Equatable, CustomStringConvertible {
    case unknownDevice(id: String, pool: String)
    /// The device is in the pool but its health says it cannot work now.
    case unhealthyDevice(id: String, pool: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownDevice(id, pool): "device \"\(id)\" is not in pool \(pool)"
        case let .unhealthyDevice(id, pool, reason): "device \"\(id)\" of \(pool) is unhealthy: \(reason)"
        }
    }
}

extension ResourcePool {
    /// `PCIDEVICE_<PREFIX>_<NAME>`: upper case with `.` replaced, as SRIOV-DP builds it
    /// (a `-` in the name stays).
    public var environmentVariable: String {
        ("PCIDEVICE_" + config.resourcePrefix + "_" + config.resourceName).replacingEvery(".", with: "_").uppercased()
    }

    /// CDI kind `<prefix>/<name>`: one kind per pool, so two pools in one container
    /// never collide (SRIOV-DP #731).
    public var cdiKind: String { config.resourcePrefix + "/" + config.resourceName }

    /// What Allocate returns for `ids`, in the shapes SRIOV-DP users rely on. Each ID
    /// must be in the pool and, by `health` (from `health(in:)`), not unhealthy.
    public func allocation(ids: [String], snapshot: HostSnapshot, health: [String: DeviceHealthState] = [:],
                           options: AllocationOptions = AllocationOptions()) throws(AllocationError) -> ContainerAllocation {
        var result = ContainerAllocation()
        for id in ids {
            guard device(id) != nil else { throw .unknownDevice(id: id, pool: qualifiedName) }
            if let state = health[id], !state.healthy {
                throw .unhealthyDevice(id: id, pool: qualifiedName, reason: state.reason ?? "")
            }
        }
        var specs: [DeviceNodeSpec] = []
        if config.deviceType == .rdmaShared {
            for rdma in sharedRDMADevices { specs += rdmaSpecs(rdma, snapshot: snapshot) }
        } else {
            var info: [String: JSON] = [:]
            for id in ids {
                guard let device = device(id) else { continue }
                let perDevice = DeviceOutputs(device: device, pool: self, snapshot: snapshot)
                specs += perDevice.specs
                info[id] = JSON(sortingKeysOf: perDevice.info)
                // No device-info file for a scalable function: the spec has no type for one (nor has SRIOV-DP).
                if config.deviceType == .netDevice {
                    result.deviceInfoFiles.append(deviceInfoFile(device, snapshot: snapshot, options: options))
                }
            }
            result.envs[environmentVariable] = ids.joined(separator: ",")
            result.envs[environmentVariable + "_INFO"] = JSON(sortingKeysOf: info).serialized
        }
        // De-duplicated by host path, first wins, order kept.
        var seen: Set<String> = []
        let unique = specs.filter { seen.insert($0.hostPath).inserted }
        if options.useCDI {
            // Every slot of a shared pool hands out the same RDMA nodes, so one CDI device
            // stands for any number of them, as the de-duplicated device nodes do.
            let named = config.deviceType == .rdmaShared ? Array(ids.prefix(1)) : ids
            result.cdiDevices = named.map { "\(cdiKind)=\($0)" }
        } else {
            result.devices = unique
        }
        return result
    }

    /// Where the device-info file of `id` goes in `directory`.
    public func deviceInfoPath(_ id: String, directory: String) -> String {
        DeviceInfo.path(directory: directory, resourceName: qualifiedName, deviceID: id)
    }

    func deviceInfoFile(_ device: PoolDevice, snapshot: HostSnapshot, options: AllocationOptions) -> DeviceInfoFile {
        let path = deviceInfoPath(device.id, directory: options.deviceInfoDirectory)
        if config.handsOutVDPA, let address = device.pciAddress, let vdpa = snapshot.vdpaDevices(of: address).first {
            // device-info-spec's vdpa section: the vDPA device, its driver kind and, for vhost, its node.
            let info = DeviceInfo.vdpa(parentDevice: vdpa.name, driver: vdpa.type?.rawValue ?? vdpa.driver ?? "",
                                       path: vdpa.vhostDevice.map { containerPath(of: $0, devRoot: snapshot.roots.devRoot) },
                                       pciAddress: device.id, pfPCIAddress: device.pfAddress?.description)
            return DeviceInfoFile(path: path, info: info)
        }
        let rdma = config.handsOutRDMA ? device.rdmaDevices.first : nil
        return DeviceInfoFile(path: path, info: .pci(device.id, rdmaDevice: rdma))
    }

    func rdmaSpecs(_ rdma: RDMADevice, snapshot: HostSnapshot) -> [DeviceNodeSpec] {
        rdma.characterDevices.all.map {
            let path = containerPath(of: $0, devRoot: snapshot.roots.devRoot)
            return DeviceNodeSpec(containerPath: path, hostPath: path)
        }
    }
}

/// Device nodes and `_INFO` entries of one exclusive device.
struct DeviceOutputs {
    var specs: [DeviceNodeSpec] = []
    var info: [String: JSON] = [:]

    init(device: PoolDevice, pool: ResourcePool, snapshot: HostSnapshot) {
        let devRoot = snapshot.roots.devRoot
        let pci = device.pciAddress.flatMap(snapshot.device(at:))
        info["generic"] = JSON(sortingKeysOf: ["deviceID": device.id])
        if pci?.driver == "vfio-pci", let group = pci?.iommuGroup, let host = snapshot.deviceNodes.vfioGroups[group] {
            // In a VM without an IOMMU the host node is noiommu-N; the container sees /dev/vfio/N.
            let container = "/dev/vfio/\(group)"
            if let vfio = snapshot.deviceNodes.vfioContainer {
                specs.append(DeviceNodeSpec(containerPath: "/dev/vfio/vfio", hostPath: containerPath(of: vfio, devRoot: devRoot)))
            }
            specs.append(DeviceNodeSpec(containerPath: container, hostPath: containerPath(of: host, devRoot: devRoot)))
            info["vfio"] = JSON(sortingKeysOf: ["mount": "/dev/vfio/vfio", "dev-mount": container])
        }
        if let driver = pci?.driver, driver == "uio" || driver == "igb_uio" || driver == "uio_pci_generic",
           let uio = pci?.uioDevices.first {
            specs.append(DeviceNodeSpec(containerPath: "/dev/\(uio)", hostPath: "/dev/\(uio)"))
            info["uio"] = JSON(sortingKeysOf: ["mount": "/dev/\(uio)"])
        }
        if pool.config.handsOutRDMA {
            // A scalable function's RDMA device sits on its auxiliary device.
            let rdmaDevices = device.auxiliaryDevice.map(snapshot.rdmaDevices(ofAuxiliary:))
                ?? device.pciAddress.map(snapshot.rdmaDevices(of:)) ?? []
            for rdma in rdmaDevices {
                let nodes = pool.rdmaSpecs(rdma, snapshot: snapshot)
                specs += nodes
                var entry: [String: String] = ["rdma_dev": rdma.name]
                let chars = rdma.characterDevices
                for (key, path) in [("uverbs", chars.uverbs), ("umad", chars.umad), ("issm", chars.issm), ("rdma_cm", chars.rdmaCM)] {
                    if let path { entry[key] = containerPath(of: path, devRoot: devRoot) }
                }
                info["rdma"] = JSON(sortingKeysOf: entry)
            }
        }
        if pool.config.handsOutVDPA, let address = device.pciAddress, let vdpa = snapshot.vdpaDevices(of: address).first {
            // As SRIOV-DP's vdpa info provider: the vhost-vdpa node for vhost (mrw), an
            // empty mount for virtio (its netdev is the pod's through a CNI).
            var mount = ""
            if vdpa.type == .vhost, let node = vdpa.vhostDevice {
                mount = containerPath(of: node, devRoot: devRoot)
                specs.append(DeviceNodeSpec(containerPath: mount, hostPath: mount, permissions: "mrw"))
            }
            info["vdpa"] = JSON(sortingKeysOf: ["mount": .string(mount)])
        }
        if pool.config.handsOutVhostNet, let vhost = snapshot.deviceNodes.vhostNet, let tun = snapshot.deviceNodes.tun {
            specs.append(DeviceNodeSpec(containerPath: "/dev/vhost-net", hostPath: containerPath(of: vhost, devRoot: devRoot)))
            specs.append(DeviceNodeSpec(containerPath: "/dev/net/tun", hostPath: containerPath(of: tun, devRoot: devRoot)))
            info["vhost"] = JSON(sortingKeysOf: ["net-mount": "/dev/vhost-net", "tun-mount": "/dev/net/tun"])
        }
        // "*", then (for a scalable function, as SRIOV-DP keys it) its PF's address, then the device's own ID.
        var extra = pool.config.additionalInfo["*"] ?? [:]
        if device.auxiliaryDevice != nil, let pf = device.pfAddress {
            extra.merge(pool.config.additionalInfo[pf.description] ?? [:]) { _, specific in specific }
        }
        extra.merge(pool.config.additionalInfo[device.id] ?? [:]) { _, specific in specific }
        if !extra.isEmpty { info["extra"] = JSON(sortingKeysOf: extra) }
    }
}

/// A node found under the device root, as a path under /dev. kubelet hands DeviceSpec
/// host paths to the runtime, which resolves them on the host, where the device root
/// (`--dev-root`, e.g. the host's /dev mounted at /host/dev) is /dev; the container
/// sees the same path.
func containerPath(of hostPath: String, devRoot: String) -> String {
    hostPath.hasPrefix(devRoot + "/") ? "/dev" + hostPath.dropFirst(devRoot.count) : hostPath
}

extension String {
    /// The string with every `character` replaced by `replacement`.
    func replacingEvery(_ character: Character, with replacement: Character) -> String {
        String(map { $0 == character ? replacement : $0 })
    }
}
