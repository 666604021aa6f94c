import HostDevices
import XCTest

final class InfiniBandGUIDTests: XCTestCase {
    func testBothWrittenFormsParseToTheSameValue() throws {
        let colons = try XCTUnwrap(InfiniBandGUID("0c:42:A1:03:00:50:6a:01"))
        let sysfs = try XCTUnwrap(InfiniBandGUID("0c42:a103:0050:6a01"))
        XCTAssertEqual(colons, sysfs)
        XCTAssertEqual(colons.rawValue, 0x0c42_a103_0050_6a01)
        XCTAssertEqual(colons.bytes, [0x0c, 0x42, 0xa1, 0x03, 0x00, 0x50, 0x6a, 0x01])
        XCTAssertEqual(colons.description, "0c:42:a1:03:00:50:6a:01")
    }

    func testMalformedTextIsRefused() {
        for text in ["", "0c:42:a1:03:00:50:6a", "0c:42:a1:03:00:50:6a:01:02", "0c42:a103:0050", "zz:42:a1:03:00:50:6a:01",
                     "0c:42:a1:03:00:50:6a:1", "0c42a103:0050:6a01:00:00", "+c:42:a1:03:00:50:6a:01"] {
            XCTAssertNil(InfiniBandGUID(text), text)
        }
    }

    func testThePortGUIDOfAnIPoIBAddress() throws {
        let address = MACAddress("00:00:01:07:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:50:6a:01")!
        XCTAssertEqual(InfiniBandGUID(ipoibAddress: address.bytes), InfiniBandGUID("0c:42:a1:03:00:50:6a:01"))
        XCTAssertNil(InfiniBandGUID(ipoibAddress: MACAddress("02:00:00:00:00:01")!.bytes))
    }

    func testUsableGUIDs() throws {
        XCTAssertTrue(try XCTUnwrap(InfiniBandGUID("00:00:00:00:00:00:00:00")).isZero)
        XCTAssertTrue(try XCTUnwrap(InfiniBandGUID("FF:FF:FF:FF:FF:FF:FF:FF")).isAllOnes)
        XCTAssertFalse(InfiniBandGUID.allOnes.isAssignable)
        XCTAssertTrue(try XCTUnwrap(InfiniBandGUID("02:00:00:00:00:00:00:01")).isAssignable)
    }

    /// The same VF always gets the same GUID; every VF of a PF, and the same VF of
    /// another PF, a different one; each is locally administered and unicast.
    func testDerivedGUIDsAreStableDistinctAndLocal() throws {
        let pf = try XCTUnwrap(InfiniBandGUID("0c42:a103:0050:6a00"))
        let other = try XCTUnwrap(InfiniBandGUID("0c42:a103:0050:6b00"))
        XCTAssertEqual(InfiniBandGUID.derived(pf: pf, vfIndex: 3), InfiniBandGUID.derived(pf: pf, vfIndex: 3))
        var seen: Set<InfiniBandGUID> = []
        for index in 0..<256 {
            for parent in [pf, other] {
                let guid = InfiniBandGUID.derived(pf: parent, vfIndex: index)
                XCTAssertTrue(seen.insert(guid).inserted, "\(guid) twice")
                XCTAssertEqual(guid.bytes[0] & 0x03, 0x02, "\(guid): locally administered, not group")
                XCTAssertTrue(guid.isAssignable)
            }
        }
    }
}
