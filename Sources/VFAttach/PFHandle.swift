import HostDevices

/// A VF's PF as the CNI reaches it: the PF's PCI address (to find it again after a
/// rename), its netdev in the host namespace (VF settings go through it) and the
/// VF's index in the PF's VF table. Its link index is looked up by netdev when used:
/// it does not outlive a reboot, and the handle is persisted in `AttachmentRecord`.
struct PFHandle: Equatable, Sendable {
    var address: PCIAddress
    var netdev: String
    var vfIndex: Int
}
