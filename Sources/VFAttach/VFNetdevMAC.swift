#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Netlink

/// What it takes to change a VF's settings through its PF.
struct PFAccess {
    var netlink: RouteNetlink
    var index: Int32
    var name: String
    var vf: Int
    /// The VF's trust setting to return to.
    var trust: Bool
}

/// Sets a VF netdev's own MAC. Some PF drivers (igb) refuse a VF's own change once the
/// PF has set an administrative MAC, unless the VF is trusted: then trust is switched
/// on for the change and back afterwards, as an administrator would do by hand.
func setVFNetdevMAC(_ mac: [UInt8], linkIndex: Int32, device: String, netlink: RouteNetlink, pf: PFAccess?) throws {
    do {
        try netlink.setLink(index: linkIndex, device: device, LinkChange(hardwareAddress: mac))
    } catch let error as NetlinkError where pf != nil && !pf!.trust && [EINVAL, EPERM, EADDRNOTAVAIL, EACCES].contains(error.errno) {
        let pf = pf!
        try pf.netlink.setVirtualFunction(ofPF: pf.index, device: pf.name, vf: pf.vf, .trust(true))
        defer { try? pf.netlink.setVirtualFunction(ofPF: pf.index, device: pf.name, vf: pf.vf, .trust(false)) }
        try netlink.setLink(index: linkIndex, device: device, LinkChange(hardwareAddress: mac))
    }
}
