import HostDevices

/// A `pfNames` entry: a PF netdev name or PCI address, optionally with VF index
/// ranges, `ens1f0#0-3,5`. The PF part matches case-insensitively, as in SRIOV-DP.
public struct PFNameSelector: Equatable, Sendable {
    public var pf: String
    /// nil: every VF of the PF (and the PF itself).
    public var vfIndexes: [ClosedRange<Int>]?

    public init(pf: String, vfIndexes: [ClosedRange<Int>]?) {
        self.pf = pf
        self.vfIndexes = vfIndexes
    }

    /// Parses one entry; the error text says what is wrong with it.
    public static func parse(_ text: String) throws(ConfigError.Reason) -> PFNameSelector {
        let parts = text.split(separator: "#", omittingEmptySubsequences: false)
        guard parts.count <= 2, let pf = parts.first, !pf.isEmpty else {
            throw .invalidValue("\"\(text)\" is not <pf> or <pf>#<ranges>")
        }
        guard parts.count == 2 else { return PFNameSelector(pf: String(pf), vfIndexes: nil) }
        var ranges: [ClosedRange<Int>] = []
        for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), low >= 0,
                  let high = bounds.count == 2 ? Int(bounds[1]) : low, high >= 0 else {
                throw .invalidValue("\"\(text)\" has an invalid VF index range \"\(item)\"")
            }
            guard low <= high else { throw .invalidValue("\"\(text)\" has a descending range \(low)-\(high)") }
            ranges.append(low...high)
        }
        return PFNameSelector(pf: String(pf), vfIndexes: ranges)
    }

    /// Whether a device whose PF is called `pfName` (at `pfAddress`) with VF index
    /// `vfIndex` (nil for a PF itself) is selected.
    func matches(pfName: String?, pfAddress: PCIAddress?, vfIndex: Int?) -> Bool {
        let names = [pfName, pfAddress?.description].compactMap { $0?.lowercased() }
        guard names.contains(pf.lowercased()) else { return false }
        guard let ranges = vfIndexes else { return true }
        guard let vfIndex else { return false }
        return ranges.contains { $0.contains(vfIndex) }
    }
}

/// One `rootDevices` entry: a PF's PCI address, optionally with the VF index ranges
/// `pfNames` takes (`0000:3b:00.0#0-3,7`), as SRIOV-DP documents them.
public struct RootDeviceSelector: Equatable, Sendable {
    public var pf: PCIAddress
    /// nil: every VF of the PF.
    public var vfIndexes: [ClosedRange<Int>]?

    public init(pf: PCIAddress, vfIndexes: [ClosedRange<Int>]? = nil) {
        self.pf = pf
        self.vfIndexes = vfIndexes
    }

    /// Whether a device whose PF is at `pfAddress`, with VF index `vfIndex`, is selected.
    func matches(pfAddress: PCIAddress?, vfIndex: Int?) -> Bool {
        guard pfAddress == pf else { return false }
        guard let ranges = vfIndexes else { return true }
        guard let vfIndex else { return false }
        return ranges.contains { $0.contains(vfIndex) }
    }
}
