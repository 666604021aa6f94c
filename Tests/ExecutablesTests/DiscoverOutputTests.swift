import Foundation
import XCTest

extension ExecutablesTests {
    /// A hand-made sysfs tree for `discover`: a switchdev PF whose representor sits
    /// beside its uplink, one VF with its netdev and one whose netdev a CNI moved into
    /// a pod (the kernel leaves its `net/` empty). Vendor f1f1 is not in pci.ids, so
    /// no names depend on the host.
    private func podNetdevTree() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("discover-\(UUID().uuidString)")
        func write(_ path: String, _ text: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((text + "\n").utf8).write(to: url)
        }
        func link(_ path: String, _ target: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
        }
        func function(_ address: String, device: String, driver: String) throws {
            let dir = "devices/pci0000:00/\(address)"
            try write("\(dir)/modalias", "pci:v0000F1F1d0000\(device)sv0000F1F1sd00000000bc02sc00i00")
            try write("\(dir)/numa_node", "0")
            try FileManager.default.createDirectory(at: root.appendingPathComponent("bus/pci/drivers/\(driver)"), withIntermediateDirectories: true)
            try link("\(dir)/driver", "../../../bus/pci/drivers/\(driver)")
            try link("bus/pci/devices/\(address)", "../../../\(dir)")
        }
        func netdev(_ name: String, of address: String, mac: String, physPortName: String? = nil) throws {
            let dir = "devices/pci0000:00/\(address)/net/\(name)"
            for (file, value) in [("mtu", "1500"), ("address", mac), ("operstate", "up"), ("type", "1"), ("carrier", "1")] {
                try write("\(dir)/\(file)", value)
            }
            if let physPortName { try write("\(dir)/phys_port_name", physPortName) }
            try link("class/net/\(name)", "../../\(dir)")
        }
        try function("0000:01:00.0", device: "0001", driver: "pfdrv")
        try write("devices/pci0000:00/0000:01:00.0/sriov_totalvfs", "4")
        try write("devices/pci0000:00/0000:01:00.0/sriov_numvfs", "2")
        try netdev("ens1f0np0", of: "0000:01:00.0", mac: "02:00:00:00:01:00", physPortName: "p0")
        try netdev("ens1f0_1", of: "0000:01:00.0", mac: "02:00:00:00:01:11", physPortName: "pf0vf1")
        for (index, address) in ["0000:01:00.2", "0000:01:00.3"].enumerated() {
            try function(address, device: "0002", driver: "vfdrv")
            try link("devices/pci0000:00/0000:01:00.0/virtfn\(index)", "../\(address)")
            try link("devices/pci0000:00/\(address)/physfn", "../0000:01:00.0")
        }
        try netdev("ens1f0v0", of: "0000:01:00.2", mac: "02:00:00:00:02:00")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("devices/pci0000:00/0000:01:00.3/net"),
                                                withIntermediateDirectories: true)
        try write("config.json", #"{"resourceList": [{"resourceName": "vfs", "selectors": {"linkTypes": ["ether"], "drivers": ["vfdrv"]}}]}"#)
        return root
    }

    func testDiscoverMarksRepresentorsAndNetdevsInAnotherNamespace() throws {
        let root = try podNetdevTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let output = try run(try binary("sriov-rdma-dp"), ["discover", "--sys-root", root.path, "--dev-root", root.path + "/dev",
                                                           "--config", root.path + "/config.json"])
        XCTAssertEqual(output.status, 0, output.stderr)
        let pf = "0000:01:00.0 [f1f1:0001], driver pfdrv, netdev ens1f0_1 (up, 02:00:00:00:01:11, representor pf0vf1), "
            + "ens1f0np0 (up, 02:00:00:00:01:00), NUMA 0"
        let vf0 = "0000:01:00.2 [f1f1:0002], driver vfdrv, netdev ens1f0v0 (up, 02:00:00:00:02:00), NUMA 0"
        let vf1 = "0000:01:00.3 [f1f1:0002], driver vfdrv, netdev not visible here (in another network namespace, such as a pod's), NUMA 0"
        XCTAssertEqual(output.stdout, """
            PCI: 3 functions under \(root.path)/bus/pci/devices, 3 of them network controllers.
              \(pf)
              \(vf0)
              \(vf1)

            SR-IOV: 1 physical function.
              PF \(pf)
                 VFs enabled: 2 of 4
                 VF 0: \(vf0)
                 VF 1: \(vf1)

            RDMA: none. \(root.path)/class/infiniband does not exist: the kernel has no RDMA core (ib_core) loaded.

            Pools:
              intel.com/vfs: 1 device
                 0000:01:00.2 ens1f0v0 NUMA 0

            Left out:
              0000:01:00.0:
                 PF with 2 VFs enabled: its VFs are the allocatable devices
              0000:01:00.3:
                 intel.com/vfs: link type unknown (no netdev visible in this network namespace): linkTypes ["ether"]

            """)
    }

    /// The vDPA bus: vdpa0 on VF 0000:01:00.2 bound to vhost_vdpa with its node, and an
    /// unbound vdpa1 on the other VF; in the text report and in `--json`.
    func testDiscoverListsVDPADevices() throws {
        let root = try podNetdevTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let files = FileManager.default
        func directory(_ path: String) throws {
            try files.createDirectory(at: root.appendingPathComponent(path), withIntermediateDirectories: true)
        }
        for (name, address) in [("vdpa0", "0000:01:00.2"), ("vdpa1", "0000:01:00.3")] {
            try directory("devices/pci0000:00/\(address)/\(name)")
            try directory("bus/vdpa/devices")
            try files.createSymbolicLink(atPath: root.appendingPathComponent("bus/vdpa/devices/\(name)").path,
                                         withDestinationPath: "../../../devices/pci0000:00/\(address)/\(name)")
        }
        try directory("bus/vdpa/drivers/vhost_vdpa")
        try directory("devices/pci0000:00/0000:01:00.2/vdpa0/vhost-vdpa-0")
        try files.createSymbolicLink(atPath: root.appendingPathComponent("devices/pci0000:00/0000:01:00.2/vdpa0/driver").path,
                                     withDestinationPath: "../../../../bus/vdpa/drivers/vhost_vdpa")
        try directory("dev")
        XCTAssertTrue(files.createFile(atPath: root.appendingPathComponent("dev/vhost-vdpa-0").path, contents: nil))
        let arguments = ["discover", "--sys-root", root.path, "--dev-root", root.path + "/dev"]
        let text = try run(try binary("sriov-rdma-dp"), arguments)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("""

            vDPA: 2 devices.
              vdpa0: on 0000:01:00.2, driver vhost_vdpa (vhost), \(root.path)/dev/vhost-vdpa-0
              vdpa1: on 0000:01:00.3, no driver bound

            """), text.stdout)
        let json = try run(try binary("sriov-rdma-dp"), arguments + ["--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let vdpa = try XCTUnwrap(report["vdpaDevices"] as? [[String: Any]])
        XCTAssertEqual(vdpa.map { $0["name"] as? String }, ["vdpa0", "vdpa1"])
        XCTAssertEqual(vdpa.map { $0["parent"] as? String }, ["0000:01:00.2", "0000:01:00.3"])
        XCTAssertEqual(vdpa.map { $0["type"] as? String }, ["vhost", nil])
        XCTAssertEqual(vdpa.map { $0["vhostDevice"] as? String }, [root.path + "/dev/vhost-vdpa-0", nil])
    }
}
