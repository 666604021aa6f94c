import CNI
import HostDevices
import JSONValue
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The device-info file (device-info-spec v1.1.0) Multus places at
/// `runtimeConfig.CNIDeviceInfoFile`: `{"type":"pci","version":"1.1.0","pci":{"pci-address":...,
/// "pf-pci-address":..., "rdma-device":...}}`. A vDPA pool's file (type vdpa) is refused with its reason.
struct DeviceInfoFile {
    var pciAddress: PCIAddress
    var rdmaDevice: String?

    static func read(_ path: String) throws(CNIError) -> DeviceInfoFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CNIError(.invalidNetworkConfig, "cannot read device-info file \(path)", details: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        guard let json = try? JSON.parse(bytes) else {
            throw CNIError(.invalidNetworkConfig, "device-info file \(path) is not JSON")
        }
        // A vDPA pool's file: the pod is to get the vDPA device (a vhost-vdpa node, or the
        // virtio netdev beside the VF's own), which this plugin does not attach.
        if json["type"]?.stringValue == "vdpa", let vdpa = json["vdpa"] {
            let name = vdpa["parent-device"]?.stringValue ?? "?", driver = vdpa["driver"]?.stringValue ?? "?"
            let address = vdpa["pci-address"]?.stringValue ?? "?"
            throw CNIError(.invalidNetworkConfig,
                           "device-info file \(path) is for vDPA device \(name) (\(driver)) on \(address): sriov-rdma-cni attaches VF netdevs, not vDPA devices")
        }
        guard json["type"]?.stringValue == "pci", let pci = json["pci"], let text = pci["pci-address"]?.stringValue else {
            throw CNIError(.invalidNetworkConfig, "device-info file \(path) has no pci.pci-address", details: json.serialized)
        }
        guard let address = PCIAddress(text) else {
            throw CNIError(.invalidNetworkConfig, "device-info file \(path): pci-address \(text) is not a PCI address")
        }
        return DeviceInfoFile(pciAddress: address, rdmaDevice: pci["rdma-device"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
    }
}
