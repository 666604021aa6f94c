#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Netlink

/// Sets a VF netdev's own MAC, in the host namespace (where its PF is). Some PF drivers
/// (igb) refuse a VF's own change once the PF has set an administrative MAC, unless
/// the VF is trusted: then trust is switched on through `pf` for the change and back
/// afterwards, as an administrator would do by hand.
func setVFNetdevMAC(_ mac: [UInt8], linkIndex: Int32, device: String, netlink: RouteNetlink, pf: PFHandle?,
                    trusted: Bool) throws {
    do {
        try netlink.setLink(index: linkIndex, device: device, LinkChange(hardwareAddress: mac))
    } catch let error as NetlinkError where !trusted && [EINVAL, EPERM, EADDRNOTAVAIL, EACCES].contains(error.errno) {
        guard let pf, let pfLink = try netlink.link(named: pf.netdev) else { throw error }
        try netlink.setVirtualFunction(ofPF: pfLink.index, device: pf.netdev, vf: pf.vfIndex, .trust(true))
        defer { try? netlink.setVirtualFunction(ofPF: pfLink.index, device: pf.netdev, vf: pf.vfIndex, .trust(false)) }
        try netlink.setLink(index: linkIndex, device: device, LinkChange(hardwareAddress: mac))
    }
}
