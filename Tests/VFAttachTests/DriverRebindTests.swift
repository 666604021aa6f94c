import CNI
import Foundation
import HostDevices
import SysfsFixtures
@testable import VFAttach
import XCTest

/// The unbind and bind an InfiniBand VF needs to take a new GUID, against a fixture
/// sysfs whose driver `unbind` and `bind` are plain files: what is written where, and
/// the wait for the netdev. (No VF here is rebound for real: mlx5 is not in the lab.)
final class DriverRebindTests: XCTestCase {
    let address = "0000:5e:00.2"
    var sysfs: SysfsFixture!
    var state: StateDirectory!

    override func setUpWithError() throws {
        sysfs = try SysfsFixture()
        let vf = try sysfs.pciFunction(address, vendor: "0x15b3", device: "0x101c", classCode: "0x020700", driver: "mlx5_core")
        try sysfs.netdev("ibp94s0v0", under: vf, mtu: 4092, mac: "00:00:10:49:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:5e:00:02",
                         type: 32)
        try sysfs.write("bus/pci/drivers/mlx5_core/unbind", "")
        try sysfs.write("bus/pci/drivers/mlx5_core/bind", "")
        state = StateDirectory(path: sysfs.path + "/cni-state")
        try state.prepare(["locks"])
    }

    func rebind(timeout: Duration = .seconds(5)) throws {
        try DriverRebind(roots: HostRoots(sysRoot: sysfs.path), state: state, address: PCIAddress(address)!, driver: "mlx5_core")
            .rebind(timeout: timeout)
    }

    func written(_ file: String) throws -> String {
        try String(contentsOfFile: sysfs.path + "/bus/pci/drivers/mlx5_core/" + file, encoding: .utf8)
    }

    func testABoundVFIsUnboundThenBound() throws {
        try rebind()
        XCTAssertEqual(try written("unbind"), address)
        XCTAssertEqual(try written("bind"), address)
    }

    /// A rebind cut short left the VF without a driver: it is only bound.
    func testAnUnboundVFIsOnlyBound() throws {
        try FileManager.default.removeItem(atPath: sysfs.path + "/devices/pci0000:00/\(address)/driver")
        try rebind()
        XCTAssertEqual(try written("unbind"), "\n")
        XCTAssertEqual(try written("bind"), address)
    }

    func testAVFWhoseNetdevDoesNotComeBackIsAnError() throws {
        try FileManager.default.removeItem(atPath: sysfs.path + "/devices/pci0000:00/\(address)/net")
        XCTAssertThrowsError(try rebind(timeout: .milliseconds(100))) { error in
            XCTAssertEqual((error as? CNIError)?.message, "VF \(address) has no netdev 0.1 s after binding it to mlx5_core")
        }
    }

    func testAMissingDriverDirectoryIsNamed() throws {
        try FileManager.default.removeItem(atPath: sysfs.path + "/bus/pci/drivers/mlx5_core/bind")
        XCTAssertThrowsError(try rebind()) { error in
            XCTAssertEqual((error as? CNIError)?.message, "cannot bind \(address) to mlx5_core")
            XCTAssertEqual((error as? CNIError)?.code, 101)
        }
    }
}
