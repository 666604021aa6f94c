import CNI
import HostDevices

/// Where a VF is on the host right now, from one HostDevices snapshot: its netdev in
/// the host namespace (if it has one there), its PF and index, and its RDMA devices.
struct VFLocation: Sendable {
    var address: PCIAddress
    /// The PCI function's bound driver, nil when unbound.
    var driver: String?
    /// The VF's netdev in the host namespace; nil while it is in another namespace, or
    /// when the function has no netdev (vfio-pci).
    var netdev: String?
    var pf: PFHandle?
    /// RDMA devices of the function: a PCI child (mlx5_3), or a soft device on its
    /// netdev (rxe0).
    var rdmaDevices: [String]
    /// ARPHRD_* of the netdev (32 for IPoIB), nil without a netdev.
    var netdevLinkType: Int?
    /// The port GUID in the netdev's IPoIB address; nil for other netdevs.
    var portGUID: InfiniBandGUID?
    /// Link layers of the VF's RDMA ports ("InfiniBand", "Ethernet"); nil without RDMA devices.
    var rdmaLinkLayers: [String]?
    /// The node GUID of the PF's RDMA device.
    var pfNodeGUID: InfiniBandGUID?

    /// nil when the PCI function does not exist (the VF is gone).
    static func locate(_ address: PCIAddress, roots: HostRoots) throws(VFLocationError) -> VFLocation? {
        // The VF and its PF only: a node may have thousands of functions, and this runs at every CNI call.
        let snapshot = HostSnapshot.scan(roots: roots, functions: [address])
        guard let device = snapshot.device(at: address) else { return nil }
        let netdevInfo = snapshot.interfaces(of: address).filter { !$0.isRepresentor }.sorted { $0.name < $1.name }.first
        let netdev = netdevInfo?.name
        var pf: PFHandle?
        if let pfAddress = device.pfAddress {
            guard let index = device.vfIndex else { throw .indexUnknown(vf: address, pf: pfAddress) }
            guard let pfNetdev = snapshot.pfName(of: pfAddress) else {
                throw .pfWithoutNetdev(vf: address, pf: pfAddress)
            }
            pf = PFHandle(address: pfAddress, netdev: pfNetdev, vfIndex: index)
        }
        let rdmaInfo = snapshot.rdmaDevices(of: address)
        let ports = rdmaInfo.flatMap(\.ports)
        var location = VFLocation(address: address, driver: device.driver, netdev: netdev, pf: pf, rdmaDevices: rdmaInfo.map(\.name))
        location.netdevLinkType = netdevInfo?.linkType
        location.portGUID = netdevInfo?.macAddress.flatMap { InfiniBandGUID(ipoibAddress: $0.bytes) }
        location.rdmaLinkLayers = rdmaInfo.isEmpty ? nil : ports.compactMap(\.linkLayer)
        location.pfNodeGUID = device.pfAddress.flatMap { snapshot.rdmaDevices(of: $0).compactMap(\.nodeGUID).first }
        return location
    }
}

enum VFLocationError: Error, CustomStringConvertible, CNIErrorConvertible {
    case indexUnknown(vf: PCIAddress, pf: PCIAddress)
    case pfWithoutNetdev(vf: PCIAddress, pf: PCIAddress)

    var description: String {
        switch self {
        case let .indexUnknown(vf, pf): "VF \(vf) is not among the virtfnN links of its PF \(pf)"
        case let .pfWithoutNetdev(vf, pf): "the PF \(pf) of VF \(vf) has no netdev in this namespace, so its VF settings cannot be reached"
        }
    }

    var cniError: CNIError { CNIError(.deviceOperationFailed, description) }
}
