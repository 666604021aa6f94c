import CPCI
import XCTest

final class LibPCITests: XCTestCase {
    struct Function: Hashable, CustomStringConvertible {
        var address: String
        var vendor: UInt16
        var device: UInt16
        var classID: UInt16
        var description: String { "\(address) \(String(classID, radix: 16)): \(String(vendor, radix: 16)):\(String(device, radix: 16))" }
    }

    /// libpci's bus scan finds exactly the functions `lspci -n -D` lists, with the
    /// same vendor, device and class.
    func testBusScanMatchesLspci() throws {
        let access = try XCTUnwrap(cpci_open_sysfs(nil))
        defer { pci_cleanup(access) }
        pci_scan_bus(access)

        var scanned: Set<Function> = []
        var node = access.pointee.devices
        while let device = node {
            _ = pci_fill_info(device, Int32(PCI_FILL_IDENT | PCI_FILL_CLASS))
            let p = device.pointee
            let address = String(format: "%04x:%02x:%02x.%x", p.domain, p.bus, p.dev, p.func)
            scanned.insert(Function(address: address, vendor: p.vendor_id, device: p.device_id, classID: p.device_class))
            node = p.next
        }

        // lspci -n -D: "0000:00:03.0 0200: 1af4:1041 (rev 01)"
        let listed = try Host.run("/usr/bin/lspci", ["-n", "-D"]).split(separator: "\n").map { line -> Function in
            let fields = line.split(separator: " ")
            let ids = fields[2].split(separator: ":")
            return Function(
                address: String(fields[0]),
                vendor: UInt16(ids[0], radix: 16)!,
                device: UInt16(ids[1], radix: 16)!,
                classID: UInt16(fields[1].dropLast(), radix: 16)!
            )
        }
        XCTAssertFalse(listed.isEmpty, "lspci listed no PCI functions")
        XCTAssertEqual(scanned, Set(listed))
    }

    /// The names database answers for a well-known ID (the pci.ids file ships with libpci3).
    func testNameLookupFromPciIds() throws {
        let access = try XCTUnwrap(cpci_names())
        defer { pci_cleanup(access) }
        var buffer = [CChar](repeating: 0, count: 256)
        let name = buffer.withUnsafeMutableBufferPointer { raw in
            String(cString: cpci_lookup_device(access, raw.baseAddress, Int32(raw.count), 0x8086, 0x10c9))
        }
        XCTAssertEqual(name, "82576 Gigabit Network Connection")
    }
}
