/// A PCI function address in sysfs form, `DDDD:BB:DD.F` (domain, bus, device, function).
public struct PCIAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let domain: UInt32
    public let bus: UInt8
    public let device: UInt8
    public let function: UInt8

    public init(domain: UInt32, bus: UInt8, device: UInt8, function: UInt8) {
        self.domain = domain
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// Parses `DDDD:BB:DD.F`; also accepts the short `BB:DD.F` form (domain 0) that
    /// `lspci` prints. Domains wider than four digits exist (Intel VMD uses 10000).
    public init?(_ text: some StringProtocol) {
        // The canonical sysfs form from bytes: a scan parses thousands of these.
        if let canonical = text.utf8.withContiguousStorageIfAvailable(Self.parseCanonical), let address = canonical {
            self = address
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let domainText: Substring
        let busText: Substring
        let slotText: Substring
        switch parts.count {
        case 3: (domainText, busText, slotText) = (Substring(parts[0]), Substring(parts[1]), Substring(parts[2]))
        case 2: (domainText, busText, slotText) = ("0000", Substring(parts[0]), Substring(parts[1]))
        default: return nil
        }
        let slotParts = slotText.split(separator: ".", omittingEmptySubsequences: false)
        guard slotParts.count == 2,
              (4...8).contains(domainText.count),
              busText.count == 2, slotParts[0].count == 2, slotParts[1].count == 1,
              let domain = UInt32(domainText, radix: 16),
              let bus = UInt8(busText, radix: 16),
              let device = UInt8(slotParts[0], radix: 16), device < 32,
              let function = UInt8(slotParts[1], radix: 16), function < 8
        else { return nil }
        self.init(domain: domain, bus: bus, device: device, function: function)
    }

    /// `DDDD:BB:DD.F` exactly, or nil (the general parser then decides).
    private static func parseCanonical(_ bytes: UnsafeBufferPointer<UInt8>) -> PCIAddress? {
        guard bytes.count == 12, bytes[4] == UInt8(ascii: ":"), bytes[7] == UInt8(ascii: ":"), bytes[10] == UInt8(ascii: ".") else { return nil }
        func number(_ range: Range<Int>) -> UInt32? {
            var value: UInt32 = 0
            for index in range {
                guard let digit = hexDigitValue(bytes[index]) else { return nil }
                value = value << 4 | UInt32(digit)  // at most 4 digits: no overflow
            }
            return value
        }
        guard let domain = number(0..<4), let bus = number(5..<7), let device = number(8..<10), device < 32,
              let function = number(11..<12), function < 8 else { return nil }
        return PCIAddress(domain: domain, bus: UInt8(bus), device: UInt8(device), function: UInt8(function))
    }

    /// Bus and devfn in one 16-bit number, the PCIe requester ID.
    public var routingID: Int { Int(bus) << 8 | Int(device) << 3 | Int(function) }

    /// The function `routingID` names in this address's domain, nil past bus ff.
    public func withRoutingID(_ id: Int) -> PCIAddress? {
        guard (0...0xffff).contains(id) else { return nil }
        return PCIAddress(domain: domain, bus: UInt8(id >> 8), device: UInt8((id >> 3) & 0x1f), function: UInt8(id & 7))
    }

    public var description: String {
        hex(domain, width: 4) + ":" + hex(bus, width: 2) + ":" + hex(device, width: 2) + "." + String(function, radix: 16)
    }

    public static func < (lhs: PCIAddress, rhs: PCIAddress) -> Bool {
        (lhs.domain, lhs.bus, lhs.device, lhs.function) < (rhs.domain, rhs.bus, rhs.device, rhs.function)
    }
}

func hex(_ value: some BinaryInteger, width: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

func hexDigitValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
