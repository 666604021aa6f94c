import CNI
import DeviceInfoSpec
import HostDevices
import JSONValue
import SystemSupport

/// The device-info file Multus places at `runtimeConfig.CNIDeviceInfoFile`, read as
/// `DeviceInfo` (the type the device plugin writes it with). A vDPA pool's file is
/// refused with its reason. Only a regular file of at most `sizeLimit` bytes is read:
/// the path comes from the runtime, and a FIFO or a device there must neither hang
/// the call nor fill its memory.
struct DeviceInfoFile {
    var pciAddress: PCIAddress
    var rdmaDevice: String?

    /// The files the device plugin writes are a few hundred bytes.
    static let sizeLimit = 64 * 1024

    static func read(_ path: String) throws(CNIError) -> DeviceInfoFile {
        let bytes: [UInt8]
        do throws(FileCheckError) {
            bytes = try readRegularFile(path, limit: sizeLimit)
        } catch {
            throw CNIError(.invalidNetworkConfig, "cannot read device-info file \(path)", details: "\(error.problem)")
        }
        guard let json = try? JSON.parse(bytes) else {
            throw CNIError(.invalidNetworkConfig, "device-info file \(path) is not JSON")
        }
        let info: DeviceInfo
        do throws(DeviceInfo.ParseError) {
            info = try DeviceInfo(json: json)
        } catch {
            throw CNIError(.invalidNetworkConfig, "device-info file \(path) has no pci.pci-address", details: json.serialized)
        }
        switch info.kind {
        case .vdpa(let vdpa):
            // The pod is to get the vDPA device (a vhost-vdpa node, or the virtio netdev
            // beside the VF's own), which this plugin does not attach.
            throw CNIError(.invalidNetworkConfig,
                           "device-info file \(path) is for vDPA device \(vdpa.parentDevice) (\(vdpa.driver)) on \(vdpa.pciAddress): sriov-rdma-cni attaches VF netdevs, not vDPA devices")
        case .pci(let pci):
            guard let address = PCIAddress(pci.pciAddress) else {
                throw CNIError(.invalidNetworkConfig, "device-info file \(path): pci-address \(pci.pciAddress) is not a PCI address")
            }
            return DeviceInfoFile(pciAddress: address, rdmaDevice: pci.rdmaDevice)
        }
    }
}
