import DRACheckpoint
import HostDevices
import JSONValue
import ResourcePools
#if canImport(Glibc)
import Glibc
#endif

/// This node's ResourceSlices (resource.k8s.io/v1): one DRA pool per resource pool,
/// in slices of at most 128 devices (the API's limit without taints, counters or list
/// attributes), each carrying the pool's generation and slice count, so that a consumer
/// reading only the newest generation sees one whole pool. A pool without devices is
/// still published, as one empty slice.
///
/// Device attributes: the standard `resource.kubernetes.io/pciBusID` and
/// `resource.kubernetes.io/pcieRoot` (what GPU–NIC alignment matches on), and this
/// driver's own under its name: the resource name, PF netdev and address, VF index,
/// vendor and device IDs, kernel driver, link type, netdev, RDMA device, NUMA node.
public struct ResourceSlices: Sendable {
    public var names: DRANames
    /// The Node object's UID: the slices' owner, so they go with the node.
    public var nodeUID: String?

    public static let maxDevicesPerSlice = 128
    public static let apiVersion = "resource.k8s.io/v1"

    public init(names: DRANames, nodeUID: String? = nil) {
        self.names = names
        self.nodeUID = nodeUID
    }

    /// The slices of every pool this node serves through DRA, for `generation`.
    public func slices(pools: [ResourcePool], snapshot: HostSnapshot, generation: Int) -> [JSON] {
        pools.flatMap { pool -> [JSON] in
            let chunks = Self.chunks(pool.devices.map { device(pool: pool, device: $0, snapshot: snapshot) })
            return chunks.map { slice(pool: names.pool(pool.config), generation: generation, count: chunks.count, devices: $0) }
        }
    }

    /// Each DRA pool's devices as its slices list them: what `SlicePublisher.publish` takes.
    public func devices(pools: [ResourcePool], snapshot: HostSnapshot) -> [String: [JSON]] {
        Dictionary(pools.map { pool in
            (names.pool(pool.config), pool.devices.map { device(pool: pool, device: $0, snapshot: snapshot) })
        }, uniquingKeysWith: { first, second in first + second })
    }

    func slice(pool: String, generation: Int, count: Int, devices: [JSON]) -> JSON {
        var metadata: [(String, JSON)] = [("generateName", .string("\(names.node)-\(names.driver)-"))]
        if let nodeUID {
            metadata.append(("ownerReferences", .array([.object([
                ("apiVersion", .string("v1")), ("kind", .string("Node")), ("name", .string(names.node)),
                ("uid", .string(nodeUID)), ("controller", .bool(true)),
            ])])))
        }
        return .object([
            ("apiVersion", .string(Self.apiVersion)), ("kind", .string("ResourceSlice")), ("metadata", .object(metadata)),
            ("spec", .object([
                ("driver", .string(names.driver)), ("nodeName", .string(names.node)),
                ("pool", .object([("name", .string(pool)), ("generation", JSON(generation)), ("resourceSliceCount", JSON(count))])),
                ("devices", .array(devices)),
            ])),
        ])
    }

    func device(pool: ResourcePool, device: PoolDevice, snapshot: HostSnapshot) -> JSON {
        var attributes: [(String, JSON)] = []
        func add(_ name: String, string value: String?) {
            guard let value, !value.isEmpty else { return }
            attributes.append((name, .object([("string", .string(String(value.prefix(64))))])))
        }
        func add(_ name: String, int value: Int?) {
            guard let value else { return }
            attributes.append((name, .object([("int", JSON(value))])))
        }
        let own = names.driver + "/"
        if let address = device.pciAddress {
            add("resource.kubernetes.io/pciBusID", string: address.description)
            add("resource.kubernetes.io/pcieRoot", string: Self.pcieRoot(of: address, sysRoot: snapshot.roots.sysRoot))
        }
        add(own + "resourceName", string: pool.qualifiedName)
        let pci = device.pciAddress.flatMap { snapshot.device(at: $0) }
        if let pci {
            add(own + "vendor", string: hex(pci.vendorID))
            add(own + "deviceID", string: hex(pci.deviceID))
            if let pf = pci.pfAddress {
                add(own + "pfPCIAddress", string: pf.description)
                add(own + "pfName", string: snapshot.pfName(of: pf))
                add(own + "vfIndex", int: pci.vfIndex)
            }
        }
        add(own + "driver", string: device.driver)
        add(own + "auxiliaryDevice", string: device.auxiliaryDevice)
        add(own + "netdev", string: device.netdevs.first)
        if let address = device.pciAddress, let netdev = snapshot.interfaces(of: address).first(where: { $0.name == device.netdevs.first }) {
            add(own + "linkType", string: netdev.linkTypeName)
        }
        add(own + "rdmaDevice", string: device.rdmaDevices.first)
        add(own + "numaNode", int: device.numaNode)
        return .object([("name", .string(DRANames.device(device.id))), ("attributes", .object(attributes))])
    }

    /// The PCI root complex above `address`, as sysfs names it (`pci0000:3a`): the first
    /// directory under `devices/` on the way to the function.
    static func pcieRoot(of address: PCIAddress, sysRoot: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(sysRoot + "/bus/pci/devices/\(address)", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let target = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let parts = target.split(separator: "/")
        guard let index = parts.firstIndex(of: "devices"), index + 1 < parts.count, parts[index + 1].hasPrefix("pci") else { return nil }
        return String(parts[index + 1])
    }

    private func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}
