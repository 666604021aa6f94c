import HostDevices
import ResourcePools

/// A function whose RDMA device has an InfiniBand port but no node GUID: all zeros, as
/// a VF reads when nobody gave it one (network-operator #1825), or all ones,
/// ib-sriov-cni's "none" that its DEL writes back. ib-sriov-cni refuses ADD on such a VF
/// ("VF ... GUID is not valid", ib-sriov-cni #66) unless the network brings a GUID, and
/// the pod stays in ContainerCreating. With ib-kubernetes a zero GUID is expected until
/// ADD sets the one from `runtimeConfig.infinibandGUID`, so this is a note for a person,
/// never a health verdict toward kubelet.
public struct MissingGUID: Hashable, Sendable {
    /// The function the RDMA device belongs to.
    public enum Function: Hashable, Sendable, CustomStringConvertible {
        case virtualFunction(PCIAddress)
        case pciFunction(PCIAddress)
        case scalableFunction(auxiliaryDevice: String)
        /// An RDMA device with neither a PCI nor an auxiliary parent.
        case none

        public var description: String {
            switch self {
            case .virtualFunction(let address): "VF \(address)"
            case .pciFunction(let address): "PCI function \(address)"
            case .scalableFunction(let name): "scalable function \(name)"
            case .none: "no function"
            }
        }

        /// A VF when the snapshot says it is one.
        static func pci(_ address: PCIAddress, in snapshot: HostSnapshot) -> Function {
            snapshot.device(at: address)?.isVirtualFunction == true ? .virtualFunction(address) : .pciFunction(address)
        }
    }

    public var function: Function
    public var rdmaDevice: String
    public var nodeGUID: InfiniBandGUID

    /// Nil when `rdma` has no InfiniBand port (a RoCE device has no use for a GUID) or has a usable node GUID.
    public init?(function: Function, rdma: RDMADevice) {
        guard rdma.hasInfiniBandPort, let guid = rdma.nodeGUID, !guid.isAssignable else { return nil }
        self.function = function
        rdmaDevice = rdma.name
        nodeGUID = guid
    }

    /// "InfiniBand RDMA device mlx5_1 has node GUID 00:00:00:00:00:00:00:00, all zeros (none assigned): ib-sriov-cni fails ADD ...".
    public var reason: String {
        let value = nodeGUID.isZero ? "all zeros (none assigned)" : "all ones (ib-sriov-cni's \"none\", left by a DEL)"
        return "InfiniBand RDMA device \(rdmaDevice) has node GUID \(nodeGUID), \(value): "
            + "an ib-sriov ADD fails (ib-sriov-cni: \"GUID is not valid\") unless the network gives the VF a GUID"
    }

    /// What to do about any of them.
    public static let remedy = "give the network a GUID (ib-sriov config \"guid\", runtimeConfig.infinibandGUID from ib-kubernetes, "
        + "or CNI_ARGS guid=), or set \"assignGUID\": true in the ib-sriov network config so that the CNI derives a "
        + "deterministic one; with ib-kubernetes a zero GUID is expected until ADD sets one"

    /// Every RDMA device of the node without a node GUID, in the snapshot's order, with the function it belongs to.
    public static func all(in snapshot: HostSnapshot) -> [MissingGUID] {
        snapshot.rdmaDevices.compactMap { rdma in
            let function: Function = if let address = rdma.pciAddress {
                .pci(address, in: snapshot)
            } else if let name = rdma.auxiliaryDevice {
                .scalableFunction(auxiliaryDevice: name)
            } else {
                .none
            }
            return MissingGUID(function: function, rdma: rdma)
        }
    }

    /// The devices of `pool` whose RDMA device has no node GUID now, as notes by device ID.
    /// Shared RDMA pools hand out no VF and no GUID: they have none.
    public static func notes(of pool: ResourcePool, in snapshot: HostSnapshot) -> [DaemonStatus.Note] {
        guard pool.config.deviceType != .rdmaShared else { return [] }
        return pool.devices.flatMap { device -> [DaemonStatus.Note] in
            let found: [MissingGUID]
            if let name = device.auxiliaryDevice {
                found = snapshot.rdmaDevices(ofAuxiliary: name).compactMap {
                    MissingGUID(function: .scalableFunction(auxiliaryDevice: name), rdma: $0)
                }
            } else if let address = device.pciAddress {
                found = snapshot.rdmaDevices(of: address).compactMap { MissingGUID(function: .pci(address, in: snapshot), rdma: $0) }
            } else {
                found = []
            }
            return found.map { DaemonStatus.Note(device: device.id, reason: $0.reason) }
        }
    }
}
