import HostDevices
import Netlink

/// Where the plugin acts. In production: `/sys`, the plugin's own network namespace,
/// a 60 s VF lock timeout (sriov-cni's). Tests point the roots at a fixture tree and
/// the host side at a scratch namespace.
public struct AttachHost: Sendable {
    public var roots: HostRoots
    /// The namespace that counts as the host (nil: the calling thread's own).
    public var namespacePath: String?
    /// How long ADD and DEL wait for another call holding the same VF.
    public var lockTimeout: Duration
    /// How long DEL waits for a VF netdev to come back to the host after its pod
    /// namespace was destroyed (the kernel returns it asynchronously, as `devN`).
    public var netdevReturnTimeout: Duration
    /// How long an InfiniBand VF's netdev may take to come back after a driver rebind.
    public var rebindTimeout: Duration

    public init(roots: HostRoots = HostRoots(), namespacePath: String? = nil, lockTimeout: Duration = .seconds(60),
                netdevReturnTimeout: Duration = .seconds(10), rebindTimeout: Duration = .seconds(30)) {
        self.roots = roots
        self.namespacePath = namespacePath
        self.lockTimeout = lockTimeout
        self.netdevReturnTimeout = netdevReturnTimeout
        self.rebindTimeout = rebindTimeout
    }

    /// The sysfs root from SRIOV_RDMA_SYSFS_ROOT (for test rigs), else /sys.
    public static func fromEnvironment(_ variables: [String: String]) -> AttachHost {
        var host = AttachHost()
        if let root = variables["SRIOV_RDMA_SYSFS_ROOT"], !root.isEmpty { host.roots = HostRoots(sysRoot: root) }
        return host
    }

    func openNamespace() throws -> NetworkNamespace {
        if let namespacePath { return try NetworkNamespace.open(path: namespacePath) }
        return try NetworkNamespace.current()
    }
}
