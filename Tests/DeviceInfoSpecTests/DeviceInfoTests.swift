import DeviceInfoSpec
import JSONValue
import XCTest

/// The contract between the daemon (writer) and the CNI (reader), pinned from both ends.
final class DeviceInfoTests: XCTestCase {
    func testPCIFileRoundTripsThroughItsBytes() throws {
        let info = DeviceInfo.pci("0000:10:01.1", rdmaDevice: "mlx5_2")
        let text = info.json.serialized
        XCTAssertEqual(text, #"{"pci":{"pci-address":"0000:10:01.1","rdma-device":"mlx5_2"},"type":"pci","version":"1.1.0"}"#)
        XCTAssertEqual(try DeviceInfo(json: JSON.parse(Array(text.utf8))), info)
    }

    func testVDPAFileRoundTripsThroughItsBytes() throws {
        let info = DeviceInfo.vdpa(parentDevice: "vdpa0", driver: "vhost", path: "/dev/vhost-vdpa-0",
                                   pciAddress: "0000:65:00.2", pfPCIAddress: "0000:65:00.0")
        let text = info.json.serialized
        XCTAssertEqual(text, #"{"type":"vdpa","vdpa":{"driver":"vhost","parent-device":"vdpa0","path":"/dev/vhost-vdpa-0","pci-address":"0000:65:00.2","pf-pci-address":"0000:65:00.0"},"version":"1.1.0"}"#)
        XCTAssertEqual(try DeviceInfo(json: JSON.parse(Array(text.utf8))), info)
        XCTAssertEqual(info.pciAddress, "0000:65:00.2")
    }

    /// As Go writers (SRIOV-DP through network-attachment-definition-client) leave them:
    /// empty strings for what they do not know, and the spec's `network` section.
    func testGoWritersEmptyValuesReadAsAbsent() throws {
        let json = try JSON.parse(Array(#"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:00:0a.0","pf-pci-address":"","rdma-device":""},"network":{"interface":"net1"}}"#.utf8))
        XCTAssertEqual(try DeviceInfo(json: json), DeviceInfo.pci("0000:00:0a.0"))
    }

    func testAFileWithoutAPCIAddressIsRefused() throws {
        for text in [#"{"type":"pci","version":"1.1.0","pci":{}}"#, #"{"type":"vhost-user","version":"1.1.0"}"#, #"{}"#] {
            XCTAssertThrowsError(try DeviceInfo(json: JSON.parse(Array(text.utf8))), text) {
                XCTAssertEqual($0 as? DeviceInfo.ParseError, .noPCIAddress)
            }
        }
    }

    func testPathReplacesSlashesAsTheNADClientDoes() {
        XCTAssertEqual(DeviceInfo.path(directory: "/var/run/k8s.cni.cncf.io/devinfo/dp", resourceName: "nvidia.com/mlnx_rdma",
                                       deviceID: "0000:10:01.1"),
                       "/var/run/k8s.cni.cncf.io/devinfo/dp/nvidia.com-mlnx_rdma-0000:10:01.1-device.json")
    }
}
