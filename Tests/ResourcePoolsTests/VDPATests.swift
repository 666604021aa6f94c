import Foundation
import HostDevices
@testable import ResourcePools
import SysfsFixtures
import XCTest

/// `vdpaType` on a fixture of four ConnectX-6 Dx VFs: vdpa0 on vhost_vdpa, vdpa1 on
/// virtio_vdpa, none on VF 2, an unbound vdpa3 on VF 3 (EdgeCaseFixtures.vdpaOnVFs).
final class VDPATests: XCTestCase {
    var tree: SysfsFixture!
    var snapshot: HostSnapshot!

    override func setUpWithError() throws {
        tree = try EdgeCaseFixtures.vdpaOnVFs()
        snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path, devRoot: tree.devPath))
    }

    private func assignment(_ json: String, explained: Bool = true) throws -> PoolAssignment {
        PoolAssignment(config: try PoolsConfig.parse(Data(json.utf8)), snapshot: snapshot, explained: explained)
    }

    private func reasons(_ result: PoolAssignment, _ address: String) -> [String]? {
        result.excluded.first { $0.address == PCIAddress(address) }?.reasons
    }

    func testDiscoveryFindsEachVFsVDPADeviceWithDriverAndNode() {
        XCTAssertEqual(snapshot.vdpaDevices, [
            VDPADevice(name: "vdpa0", parentAddress: PCIAddress("0000:65:00.2"), driver: "vhost_vdpa",
                       vhostDevice: tree.devPath + "/vhost-vdpa-0"),
            VDPADevice(name: "vdpa1", parentAddress: PCIAddress("0000:65:00.3"), driver: "virtio_vdpa"),
            VDPADevice(name: "vdpa3", parentAddress: PCIAddress("0000:65:00.5"), driver: nil),
        ])
        XCTAssertEqual(snapshot.vdpaDevices.map(\.type), [.vhost, .virtio, nil])
        XCTAssertEqual(snapshot.vdpaDevices(of: PCIAddress("0000:65:00.4")!), [])
        // virtio_vdpa's netdev sits below the VF, so it is the VF's too.
        XCTAssertEqual(snapshot.interfaces(of: PCIAddress("0000:65:00.3")!).map(\.name), ["ens2f0v1", "eth0"])
        // A CNI call reads only its VF's.
        let one = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path, devRoot: tree.devPath), functions: [PCIAddress("0000:65:00.2")!])
        XCTAssertEqual(one.vdpaDevices.map(\.name), ["vdpa0"])
    }

    func testVDPATypeSelectsByDriverAndSaysWhyOthersAreLeftOut() throws {
        let config = """
            {"resourceList": [
              {"resourceName": "vhost", "selectors": {"vendors": ["15b3"], "vdpaType": "vhost"}},
              {"resourceName": "virtio", "selectors": {"vendors": ["15b3"], "vdpaType": "virtio"}}
            ]}
            """
        for explained in [true, false] {
            let result = try assignment(config, explained: explained)
            XCTAssertEqual(result.pools.map { $0.devices.map(\.id) }, [["0000:65:00.2"], ["0000:65:00.3"]])
        }
        let result = try assignment(config)
        XCTAssertEqual(reasons(result, "0000:65:00.4"), ["intel.com/vhost: no vDPA device (vdpaType vhost)",
                                                         "intel.com/virtio: no vDPA device (vdpaType virtio)"])
        XCTAssertEqual(reasons(result, "0000:65:00.5"), [
            "intel.com/vhost: vDPA device vdpa3 has driver none, not vhost_vdpa or virtio_vdpa (vdpaType vhost)",
            "intel.com/virtio: vDPA device vdpa3 has driver none, not vhost_vdpa or virtio_vdpa (vdpaType virtio)",
        ])
        let vhostOnly = try assignment(#"{"resourceList": [{"resourceName": "v", "selectors": {"vdpaType": "vhost"}}]}"#)
        XCTAssertEqual(reasons(vhostOnly, "0000:65:00.3"), ["intel.com/v: vDPA device vdpa1 is virtio (virtio_vdpa), not vdpaType vhost"])
    }

    func testVhostAllocationHandsOutTheVhostVDPANodeAndAVDPADeviceInfoFile() throws {
        let pool = try assignment("""
            {"resourceList": [{"resourceName": "vhost_vdpa", "resourcePrefix": "nvidia.com",
              "selectors": {"vdpaType": "vhost", "needVhostNet": true}}]}
            """).pools[0]
        try XCTUnwrap(FileManager.default.createFile(atPath: tree.devPath + "/vhost-net", contents: nil) ? () : nil)
        try FileManager.default.createDirectory(atPath: tree.devPath + "/net", withIntermediateDirectories: true)
        try XCTUnwrap(FileManager.default.createFile(atPath: tree.devPath + "/net/tun", contents: nil) ? () : nil)
        let withNodes = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path, devRoot: tree.devPath))
        let allocation = try pool.allocation(ids: ["0000:65:00.2"], snapshot: withNodes,
                                             options: AllocationOptions(deviceInfoDirectory: "/run/devinfo/dp"))
        XCTAssertEqual(allocation.envs["PCIDEVICE_NVIDIA_COM_VHOST_VDPA"], "0000:65:00.2")
        XCTAssertEqual(allocation.envs["PCIDEVICE_NVIDIA_COM_VHOST_VDPA_INFO"],
                       #"{"0000:65:00.2":{"generic":{"deviceID":"0000:65:00.2"},"vdpa":{"mount":"/dev/vhost-vdpa-0"},"vhost":{"net-mount":"/dev/vhost-net","tun-mount":"/dev/net/tun"}}}"#)
        XCTAssertEqual(allocation.devices, [
            DeviceNodeSpec(containerPath: "/dev/vhost-vdpa-0", hostPath: "/dev/vhost-vdpa-0", permissions: "mrw"),
            DeviceNodeSpec(containerPath: "/dev/vhost-net", hostPath: "/dev/vhost-net"),
            DeviceNodeSpec(containerPath: "/dev/net/tun", hostPath: "/dev/net/tun"),
        ])
        XCTAssertEqual(allocation.deviceInfoFiles.map { [$0.path, $0.contents] }, [
            ["/run/devinfo/dp/nvidia.com-vhost_vdpa-0000:65:00.2-device.json",
             #"{"type":"vdpa","vdpa":{"driver":"vhost","parent-device":"vdpa0","path":"/dev/vhost-vdpa-0","pci-address":"0000:65:00.2","pf-pci-address":"0000:65:00.0"},"version":"1.1.0"}"#],
        ])
        XCTAssertEqual(pool.devices.map(\.numaNode), [1])
    }

    /// A vhost vDPA device whose node is not under the device root would give a pod nothing.
    func testVhostWithoutItsNodeIsLeftOutSayingWhy() throws {
        try FileManager.default.removeItem(atPath: tree.devPath + "/vhost-vdpa-0")
        snapshot = HostSnapshot.scan(roots: HostRoots(sysRoot: tree.path, devRoot: tree.devPath))
        XCTAssertEqual(snapshot.vdpaDevices.first?.vhostDevice, nil)
        let result = try assignment(#"{"resourceList": [{"resourceName": "v", "selectors": {"vdpaType": "vhost"}}]}"#)
        XCTAssertEqual(result.pools[0].devices.map(\.id), [])
        XCTAssertEqual(reasons(result, "0000:65:00.2"),
                       ["intel.com/v: vDPA device vdpa0 is bound to vhost_vdpa but no /dev/vhost-vdpa-N node is under the device root"])
    }

    func testVirtioAllocationHasNoNodeAndAnEmptyMount() throws {
        let pool = try assignment(#"{"resourceList": [{"resourceName": "virtio", "selectors": {"vdpaType": "virtio"}}]}"#).pools[0]
        let allocation = try pool.allocation(ids: ["0000:65:00.3"], snapshot: snapshot,
                                             options: AllocationOptions(deviceInfoDirectory: "/run/devinfo/dp"))
        XCTAssertEqual(allocation.envs["PCIDEVICE_INTEL_COM_VIRTIO_INFO"],
                       #"{"0000:65:00.3":{"generic":{"deviceID":"0000:65:00.3"},"vdpa":{"mount":""}}}"#)
        XCTAssertEqual(allocation.devices, [])
        XCTAssertEqual(allocation.deviceInfoFiles.map(\.contents),
                       [#"{"type":"vdpa","vdpa":{"driver":"virtio","parent-device":"vdpa1","pci-address":"0000:65:00.3","pf-pci-address":"0000:65:00.0"},"version":"1.1.0"}"#])
    }

    func testWithoutVDPATypeAVFWithAVDPADeviceIsAnOrdinaryVF() throws {
        let pool = try assignment(#"{"resourceList": [{"resourceName": "vfs", "selectors": {"vendors": ["15b3"]}}]}"#).pools[0]
        XCTAssertEqual(pool.devices.map(\.id), ["0000:65:00.2", "0000:65:00.3", "0000:65:00.4", "0000:65:00.5"])
        let allocation = try pool.allocation(ids: ["0000:65:00.2"], snapshot: snapshot,
                                             options: AllocationOptions(deviceInfoDirectory: "/d"))
        XCTAssertEqual(allocation.devices, [])
        XCTAssertEqual(allocation.deviceInfoFiles.map(\.contents), [#"{"pci":{"pci-address":"0000:65:00.2"},"type":"pci","version":"1.1.0"}"#])
    }
}
