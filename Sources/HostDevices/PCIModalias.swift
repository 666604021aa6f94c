/// The IDs in a PCI `modalias`: `pci:v00008086d000010CAsv00008086sd00000000bc02sc00i00`
/// (vendor, device, subsystem vendor and device, base class, subclass, interface).
struct PCIModalias {
    var vendor: UInt32?
    var device: UInt32?
    var subsystemVendor: UInt32?
    var subsystemDevice: UInt32?
    var classCode: UInt32?

    init(vendor: UInt32?, device: UInt32?, subsystemVendor: UInt32?, subsystemDevice: UInt32?, classCode: UInt32?) {
        self.vendor = vendor
        self.device = device
        self.subsystemVendor = subsystemVendor
        self.subsystemDevice = subsystemDevice
        self.classCode = classCode
    }

    init?(_ text: String) {
        let bytes = Array(text.utf8)
        // "pci:" v(8) d(8) sv(8) sd(8) bc(2) sc(2) i(2): 4 + 9 + 9 + 10 + 10 + 4 + 4 + 3 = 53
        guard bytes.count >= 53, text.hasPrefix("pci:v") else { return nil }
        func hex(_ offset: Int, _ count: Int) -> UInt32? {
            UInt32(String(decoding: bytes[offset..<offset + count], as: UTF8.self), radix: 16)
        }
        guard bytes[13] == UInt8(ascii: "d"), bytes[22] == UInt8(ascii: "s"), bytes[32] == UInt8(ascii: "s"),
              bytes[42] == UInt8(ascii: "b"), bytes[46] == UInt8(ascii: "s"), bytes[50] == UInt8(ascii: "i"),
              let vendor = hex(5, 8), let device = hex(14, 8), let subVendor = hex(24, 8), let subDevice = hex(34, 8),
              let base = hex(44, 2), let sub = hex(48, 2), let interface = hex(51, 2) else { return nil }
        self.init(vendor: vendor, device: device, subsystemVendor: subVendor, subsystemDevice: subDevice,
                  classCode: base << 16 | sub << 8 | interface)
    }
}
