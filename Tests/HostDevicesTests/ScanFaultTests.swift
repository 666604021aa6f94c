import Foundation
import HostDevices
import SysfsFixtures
import SystemSupport
import TestSupport
import XCTest

final class ScanFaultTests: XCTestCase {
    func testAScanThatRunsOutOfDescriptorsSaysSoInsteadOfReportingAnEmptyNode() throws {
        let node = try SRIOVNodeFixture(pfs: 2, vfsPerPF: 4)
        let roots = HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath)
        let good = HostSnapshot.scan(roots: roots)
        XCTAssertNil(good.fault)
        XCTAssertEqual(good.pciDevices.count, 10)
        let starved = withDescriptorsExhausted { HostSnapshot.scan(roots: roots) }
        XCTAssertEqual(starved.fault?.errno, Errno(rawValue: EMFILE))
        XCTAssertTrue("\(starved.fault!)".hasSuffix("failed with Too many open files (errno 24)"), "\(starved.fault!)")
        let starvedVF = withDescriptorsExhausted { HostSnapshot.scan(roots: roots, functions: [PCIAddress(node.vfAddresses[0][0])!]) }
        XCTAssertNotNil(starvedVF.fault)
        // Descriptors back: the next scan is whole and fault-free.
        let again = HostSnapshot.scan(roots: roots)
        XCTAssertNil(again.fault)
        XCTAssertEqual(again.pciDevices.count, 10)
    }

    /// What the kernel answers about a device (a missing attribute, a down link's
    /// carrier) is not a fault.
    func testMissingAttributesAndDownLinksAreNotFaults() throws {
        let node = try SRIOVNodeFixture(pfs: 1, vfsPerPF: 2)
        let roots = HostRoots(sysRoot: node.tree.path, devRoot: node.tree.devPath)
        try FileManager.default.removeItem(atPath: node.tree.path + "/bus/pci/devices/\(node.vfAddresses[0][1])")
        XCTAssertNil(HostSnapshot.scan(roots: roots).fault)
    }
}
