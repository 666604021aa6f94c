import CNL
import HostDevices
@testable import Netlink
import XCTest

/// The DEVLINK_CMD_INFO_GET reply parser, on replies laid out as the kernel lays
/// them out (devlink_nl_info_fill: handle, driver, serial, then each version as a
/// nest of name and value). The lab's dp suite compares the live query with
/// `devlink dev info` on netdevsim.
final class DevlinkTests: XCTestCase {
    /// struct nlattr: u16 length, u16 type, value, padding to 4 bytes.
    private func attribute(_ type: Int32, _ value: [UInt8]) -> [UInt8] {
        let length = UInt16(4 + value.count)
        var bytes = withUnsafeBytes(of: length.littleEndian, Array.init) + withUnsafeBytes(of: UInt16(type).littleEndian, Array.init) + value
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    private func string(_ type: devlink_attr, _ text: String) -> [UInt8] { attribute(Int32(type.rawValue), Array(text.utf8) + [0]) }

    private func version(_ kind: devlink_attr, _ name: String, _ value: String) -> [UInt8] {
        attribute(Int32(kind.rawValue) | Int32(NLA_F_NESTED),
                  string(DEVLINK_ATTR_INFO_VERSION_NAME, name) + string(DEVLINK_ATTR_INFO_VERSION_VALUE, value))
    }

    func testParsesHandleDriverSerialAndVersionsInOrder() throws {
        let payload = string(DEVLINK_ATTR_BUS_NAME, "pci") + string(DEVLINK_ATTR_DEV_NAME, "0000:3b:00.0")
            + string(DEVLINK_ATTR_INFO_DRIVER_NAME, "ice") + string(DEVLINK_ATTR_INFO_SERIAL_NUMBER, "00-01-02-ff-ff-00-00-01")
            + version(DEVLINK_ATTR_INFO_VERSION_FIXED, "board.id", "K91258-000")
            + version(DEVLINK_ATTR_INFO_VERSION_RUNNING, "fw.mgmt", "7.3.4")
            + version(DEVLINK_ATTR_INFO_VERSION_RUNNING, "fw.app.name", "ICE OS Default Package")
            + version(DEVLINK_ATTR_INFO_VERSION_STORED, "fw.mgmt", "7.4.0")
            + attribute(Int32(DEVLINK_ATTR_INFO_VERSION_RUNNING.rawValue), string(DEVLINK_ATTR_INFO_VERSION_NAME, "no.value"))
        let info = try XCTUnwrap(Devlink.parseInfo(payload[...]))
        XCTAssertEqual(info, DeviceFirmware(bus: "pci", device: "0000:3b:00.0", driver: "ice", serialNumber: "00-01-02-ff-ff-00-00-01",
                                            versions: [FirmwareVersion(kind: .fixed, name: "board.id", value: "K91258-000"),
                                                       FirmwareVersion(kind: .running, name: "fw.mgmt", value: "7.3.4"),
                                                       FirmwareVersion(kind: .running, name: "fw.app.name", value: "ICE OS Default Package"),
                                                       FirmwareVersion(kind: .stored, name: "fw.mgmt", value: "7.4.0")]),
                       "a version without a value is dropped")
        XCTAssertEqual(info.ddpProfile, "ICE OS Default Package")
        XCTAssertEqual(info.version("fw.mgmt"), "7.3.4")
        XCTAssertEqual(info.pciAddress?.description, "0000:3b:00.0")
    }

    func testAReplyWithoutAHandleIsNoDevice() {
        XCTAssertNil(Devlink.parseInfo(string(DEVLINK_ATTR_INFO_DRIVER_NAME, "ice")[...]))
        XCTAssertNil(Devlink.parseInfo(string(DEVLINK_ATTR_BUS_NAME, "pci")[...]))
        XCTAssertNil(Devlink.parseInfo([][...]))
    }

    /// On a kernel without devlink the query fails naming the family; with it, every
    /// device it lists has a handle.
    func testTheLiveQueryAnswersOrSaysWhy() {
        do {
            for device in try Devlink().allInfo() {
                XCTAssertFalse(device.bus.isEmpty)
                XCTAssertFalse(device.device.isEmpty)
            }
        } catch let error as NetlinkError {
            XCTAssertEqual(error.errno, ENOENT, "\(error)")
            XCTAssertEqual("\(error)", "resolve the generic netlink family devlink on kernel failed: ENOENT (No such file or directory): "
                + "this kernel has no devlink (CONFIG_NET_DEVLINK)")
        } catch {
            XCTFail("\(error)")
        }
    }
}
