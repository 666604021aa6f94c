/// Vendor, device and class names of a PCI function, from a PCI ID database.
public struct PCIDeviceNames: Hashable, Sendable {
    public var vendor: String?
    public var device: String?
    public var deviceClass: String?

    public init(vendor: String?, device: String?, deviceClass: String?) {
        self.vendor = vendor
        self.device = device
        self.deviceClass = deviceClass
    }
}

/// Where names come from during a scan: `PCINames` (module PCIDatabase) reads libpci's
/// pci.ids. A protocol so that HostDevices itself does not link libpci.
public protocol PCINameLookup: AnyObject {
    func names(vendorID: UInt16, deviceID: UInt16, classCode: UInt32) -> PCIDeviceNames
}
