import Foundation

/// Builds a fake sysfs tree (with a /dev tree at `devPath`) in a temporary directory with the same shape the
/// kernel gives: devices under `devices/`, and `bus/pci/devices`, `class/net`,
/// `class/infiniband` as relative links into it, so path resolution behaves as on a host.
public final class SysfsFixture {
    public let root: URL

    public init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("sysfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        LeftoverTrees.shared.add(root.path)
    }

    /// Leave the tree on disk when this object goes (for benchmarks that hand it on).
    public var keep = false {
        didSet { if keep { LeftoverTrees.shared.remove(root.path) } else { LeftoverTrees.shared.add(root.path) } }
    }

    deinit {
        guard !keep else { return }
        try? FileManager.default.removeItem(at: root)
        LeftoverTrees.shared.remove(root.path)
    }

    public var path: String { root.path }
    /// A device root beside the sysfs root, for /dev nodes.
    public var devPath: String { root.path + "/dev" }

    public func write(_ relative: String, _ contents: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: url.path, contents: Data((contents + "\n").utf8)) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// An empty directory, such as the `net/` the kernel leaves under a VF whose netdev
    /// moved to another network namespace.
    public func directory(_ relative: String) throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent(relative), withIntermediateDirectories: true)
    }

    public func link(_ relative: String, to target: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
    }

    /// A PCI function at `devices/pci0000:00/<parentPath>/<address>`.
    @discardableResult
    public func pciFunction(
        _ address: String, under parentPath: String = "", vendor: String, device: String, classCode: String,
        driver: String?, numaNode: Int = -1
    ) throws -> String {
        let dir = "devices/pci0000:00/" + (parentPath.isEmpty ? "" : parentPath + "/") + address
        try write("\(dir)/vendor", vendor)
        try write("\(dir)/device", device)
        try write("\(dir)/class", classCode)
        try write("\(dir)/subsystem_vendor", "0x8086")
        try write("\(dir)/subsystem_device", "0x0000")
        try write("\(dir)/numa_node", String(numaNode))
        func id(_ text: String) -> UInt32 { UInt32(text.dropFirst(2), radix: 16) ?? 0 }
        let classValue = id(classCode)
        try write("\(dir)/modalias", String(format: "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", id(vendor), id(device), 0x8086, 0,
                                                classValue >> 16, (classValue >> 8) & 0xff, classValue & 0xff))
        if let driver {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("bus/pci/drivers/\(driver)"), withIntermediateDirectories: true)
            let depth = dir.split(separator: "/").count
            try link("\(dir)/driver", to: String(repeating: "../", count: depth) + "bus/pci/drivers/\(driver)")
        }
        let depth = 3  // bus/pci/devices
        try link("bus/pci/devices/\(address)", to: String(repeating: "../", count: depth) + dir)
        return dir
    }

    /// A PF's SR-IOV attributes: how many VFs it can have and has.
    public func sriov(_ pfDir: String, totalVFs: Int, numVFs: Int) throws {
        try write("\(pfDir)/sriov_totalvfs", String(totalVFs))
        try write("\(pfDir)/sriov_numvfs", String(numVFs))
    }

    /// The PF's `virtfn<index>` link to a VF beside it and the VF's `physfn` link back.
    public func linkVF(_ vfDir: String, address: String, index: Int, pfDir: String, pfAddress: String) throws {
        try link("\(pfDir)/virtfn\(index)", to: "../\(address)")
        try link("\(vfDir)/physfn", to: "../\(pfAddress)")
    }

    /// A netdev below a device directory, linked from `class/net`. `type` is ARPHRD_*
    /// (include/uapi/linux/if_arp.h): 1 Ethernet, 32 InfiniBand (IPoIB).
    public func netdev(_ name: String, under deviceDir: String, mtu: Int, mac: String, operstate: String = "up", carrier: Int? = 1,
                       physPortName: String? = nil, type: Int = 1) throws {
        let dir = "\(deviceDir)/net/\(name)"
        try write("\(dir)/mtu", String(mtu))
        try write("\(dir)/address", mac)
        try write("\(dir)/operstate", operstate)
        try write("\(dir)/type", String(type))
        try write("\(dir)/ifindex", "7")
        if let carrier { try write("\(dir)/carrier", String(carrier)) }
        if let physPortName { try write("\(dir)/phys_port_name", physPortName) }
        // <dir>/device → the device directory, as the kernel links it.
        try link("\(dir)/device", to: "../..")
        try link("class/net/\(name)", to: "../../" + dir)
    }

    /// A vDPA device below a device directory (`vdpa dev add ... name <name>`), on the
    /// vdpa bus, bound to `driver`. vhost_vdpa gets its `vhost-vdpa-<minor>` child and
    /// the /dev node; virtio_vdpa a `virtio<minor>` child below the function itself
    /// (the DMA device), with netdev `netdev` in it.
    public func vdpaDevice(_ name: String, under deviceDir: String, driver: String?, minor: Int, netdev: String? = nil) throws {
        let dir = "\(deviceDir)/\(name)"
        try directory(dir)
        let depth = 3  // bus/vdpa/devices
        try link("bus/vdpa/devices/\(name)", to: String(repeating: "../", count: depth) + dir)
        if let driver {
            try directory("bus/vdpa/drivers/\(driver)")
            try link("\(dir)/driver", to: String(repeating: "../", count: dir.split(separator: "/").count) + "bus/vdpa/drivers/\(driver)")
        }
        switch driver {
        case "vhost_vdpa":
            try write("\(dir)/vhost-vdpa-\(minor)/dev", "504:\(minor)")
            try write("dev/vhost-vdpa-\(minor)", "")
        case "virtio_vdpa":
            try write("\(deviceDir)/virtio\(minor)/device", "0x0001")
            if let netdev { try self.netdev(netdev, under: "\(deviceDir)/virtio\(minor)", mtu: 1500, mac: "52:54:00:00:0\(minor):01") }
        default:
            break
        }
    }
}

/// XCTest keeps every test case object, and the fixtures in their properties, alive
/// until the process ends, so `deinit` alone would leave a tree in /tmp per test:
/// whatever is still registered here is removed at exit.
final class LeftoverTrees: @unchecked Sendable {
    static let shared = LeftoverTrees()
    private let lock = NSLock()
    private var paths: Set<String> = []

    private init() {
        atexit { LeftoverTrees.shared.removeAll() }
    }

    func add(_ path: String) { lock.withLock { _ = paths.insert(path) } }
    func remove(_ path: String) { lock.withLock { _ = paths.remove(path) } }

    private func removeAll() {
        let remaining = lock.withLock { paths }
        for path in remaining { try? FileManager.default.removeItem(atPath: path) }
    }
}
