import CPCI
import HostDevices

/// Looks up vendor, device and class names in libpci's pci.ids database.
/// Thread-confined: libpci's lookup cache is not safe to share.
/// Its own module so that only `discover` links libpci (and libudev and libz behind it):
/// the CNI plugin and the daemon's hot paths need no names.
public final class PCINames: PCINameLookup {
    private let access: UnsafeMutablePointer<pci_access>
    private var buffer = [CChar](repeating: 0, count: 1024)

    /// nil when libpci cannot allocate its handle.
    public init?() {
        guard let access = cpci_names() else { return nil }
        self.access = access
    }

    deinit { pci_cleanup(access) }

    public func names(vendorID: UInt16, deviceID: UInt16, classCode: UInt32) -> PCIDeviceNames {
        let vendor = lookup { cpci_lookup_vendor(access, $0, $1, Int32(vendorID)) }
        let device = lookup { cpci_lookup_device(access, $0, $1, Int32(vendorID), Int32(deviceID)) }
        // pci.ids keys classes by base class and subclass: the upper 16 of 24 bits.
        let deviceClass = lookup { cpci_lookup_class(access, $0, $1, Int32(classCode >> 8)) }
        return PCIDeviceNames(vendor: vendor, device: device, deviceClass: deviceClass)
    }

    private func lookup(_ call: (UnsafeMutablePointer<CChar>, Int32) -> UnsafeMutablePointer<CChar>?) -> String? {
        let size = Int32(buffer.count)
        let name = buffer.withUnsafeMutableBufferPointer { raw -> String? in
            guard let result = call(raw.baseAddress!, size) else { return nil }
            return String(cString: result)
        }
        // libpci answers an unknown ID with a placeholder such as "Device 10c9".
        guard let name, !name.isEmpty, !name.hasPrefix("Device "), !name.hasPrefix("Class ") else { return nil }
        return name
    }
}
