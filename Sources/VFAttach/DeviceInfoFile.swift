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
/// "pf-pci-address":..., "rdma-device":...}}`, or a vDPA pool's `{"type":"vdpa","vdpa":{"pci-address":...}}`.
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
        // A vDPA pool's file (type vdpa) names the VF in its vdpa section; the VF is
        // attached by that address like any other.
        let kind = json["type"]?.stringValue ?? ""
        guard kind == "pci" || kind == "vdpa", let section = json[kind], let text = section["pci-address"]?.stringValue else {
            throw CNIError(.invalidNetworkConfig, "device-info file \(path) has no pci.pci-address or vdpa.pci-address", details: json.serialized)
        }
        let pci = section
        guard let address = PCIAddress(text) else {
            throw CNIError(.invalidNetworkConfig, "device-info file \(path): pci-address \(text) is not a PCI address")
        }
        return DeviceInfoFile(pciAddress: address, rdmaDevice: pci["rdma-device"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
    }
}
