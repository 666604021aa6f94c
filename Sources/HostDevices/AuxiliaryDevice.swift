/// An auxiliary-bus device below a PCI function (`<pf>/mlx5_core.sf.4`, also at
/// `/sys/bus/auxiliary/devices/`): for pools, a scalable function (SF), which has a
/// netdev and an RDMA device of its own below it (drivers/base/auxiliary.c names it
/// `<module>.<type>.<id>`; mlx5's SF driver parents both on it).
public struct AuxiliaryDevice: Hashable, Sendable {
    public var name: String
    /// The PCI function it was created on: for an SF, its PF.
    public var parentAddress: PCIAddress
    /// `sfnum`: the number the SF was created with (`devlink port add ... sfnum N`),
    /// nil for auxiliary devices that are no SF (`mlx5_core.eth.0`, `mlx5_core.rdma.0`).
    public var sfNumber: Int?

    public init(name: String, parentAddress: PCIAddress, sfNumber: Int?) {
        self.name = name
        self.parentAddress = parentAddress
        self.sfNumber = sfNumber
    }

    /// The middle part of the name, `sf` in `mlx5_core.sf.4`: what `auxTypes` compares.
    public var type: String {
        let parts = name.split(separator: ".")
        return parts.count == 3 ? String(parts[1]) : ""
    }
}

/// `<driver>.<type>.<id>`, e.g. `mlx5_core.sf.4`: an auxiliary device such as a
/// scalable function, below its PF.
public func isAuxiliaryDeviceName(_ name: String) -> Bool {
    let parts = name.split(separator: ".")
    return parts.count == 3 && Int(parts[2]) != nil
}
