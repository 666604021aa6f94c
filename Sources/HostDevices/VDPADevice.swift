/// A vDPA device (`/sys/bus/vdpa/devices/vdpaN`) on a PCI function, usually a VF:
/// the `vdpaType` selector's subject. Its driver decides what a pod gets: vhost_vdpa
/// makes a `/dev/vhost-vdpa-N` char device, virtio_vdpa a virtio netdev below the
/// function (drivers/vhost/vdpa.c, drivers/virtio/virtio_vdpa.c).
public struct VDPADevice: Hashable, Sendable {
    public var name: String
    /// The function it was created on (`vdpa dev add mgmtdev pci/<address>`).
    public var parentAddress: PCIAddress?
    /// `vhost_vdpa`, `virtio_vdpa`, or nil when unbound.
    public var driver: String?
    /// `/dev/vhost-vdpa-N` under the device root, bound to vhost_vdpa and present there.
    public var vhostDevice: String?

    public init(name: String, parentAddress: PCIAddress?, driver: String?, vhostDevice: String? = nil) {
        self.name = name
        self.parentAddress = parentAddress
        self.driver = driver
        self.vhostDevice = vhostDevice
    }

    /// The `vdpaType` value its driver stands for, as SRIOV-DP maps them.
    public var type: VDPAType? {
        switch driver {
        case "vhost_vdpa": .vhost
        case "virtio_vdpa": .virtio
        default: nil
        }
    }
}

public enum VDPAType: String, Hashable, Sendable, CaseIterable {
    case vhost, virtio
}

enum VDPADiscovery {
    /// Every device on the vDPA bus: one directory listing (absent until the vdpa
    /// module loads), and per device its link, driver link and children. The parent
    /// comes from the link text (`../../../devices/pci0000:00/.../0000:65:00.2/vdpa0`).
    static func scan(sysfs: SysfsReader, devRoot: String) -> [VDPADevice] {
        guard let bus = SysfsDirectory(sysfs.path("bus/vdpa/devices")) else { return [] }
        let dev = SysfsReader(root: devRoot)
        return bus.entries().map { name in
            let parent = bus.link(name).flatMap { link -> PCIAddress? in
                guard let slash = link.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
                return PCIAddress(lastComponentSlice(link[..<slash]))
            }
            let driver = bus.linkName(name + "/driver")
            var vhost: String?
            if driver == "vhost_vdpa", let node = bus.subdirectory(name)?.entries().first(where: { $0.hasPrefix("vhost-vdpa") }),
               dev.exists(node) {
                vhost = dev.path(node)
            }
            return VDPADevice(name: name, parentAddress: parent, driver: driver, vhostDevice: vhost)
        }
    }
}
