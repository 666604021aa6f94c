import HostDevices
import XCTest

final class PCIAddressTests: XCTestCase {
    func testParsesSysfsAndLspciForms() {
        XCTAssertEqual(PCIAddress("0000:3b:02.7"), PCIAddress(domain: 0, bus: 0x3b, device: 2, function: 7))
        XCTAssertEqual(PCIAddress("3b:02.7"), PCIAddress(domain: 0, bus: 0x3b, device: 2, function: 7))
        XCTAssertEqual(PCIAddress("10000:01:00.0")?.domain, 0x10000)
        XCTAssertEqual(PCIAddress("0000:3b:02.7")?.description, "0000:3b:02.7")
    }

    func testRejectsMalformedAddresses() {
        for text in ["", "0000:3b:02", "0000:3b:20.0", "0000:3b:02.8", "0000:3g:02.0", "pci0000:00", "virtio0", "0000:3b:02.0.1"] {
            XCTAssertNil(PCIAddress(text), text)
        }
    }

    func testOrdersByDomainBusDeviceFunction() {
        let sorted = ["0000:01:10.2", "0000:00:03.0", "0000:01:10.0", "0001:00:00.0"].compactMap(PCIAddress.init).sorted()
        XCTAssertEqual(sorted.map(\.description), ["0000:00:03.0", "0000:01:10.0", "0000:01:10.2", "0001:00:00.0"])
    }

    func testMACAddressRoundTrip() {
        XCTAssertEqual(MACAddress("02:FC:00:00:00:01")?.description, "02:fc:00:00:00:01")
        XCTAssertNil(MACAddress("02:fc:00:00:00"+":1"))
        XCTAssertNil(MACAddress("zz:fc:00:00:00:01"))
    }
}
