/// Where discovery reads from. Production uses `/sys` and `/dev`; tests point both
/// at fixture trees.
public struct HostRoots: Sendable {
    public var sysRoot: String
    public var devRoot: String

    public init(sysRoot: String = "/sys", devRoot: String = "/dev") {
        self.sysRoot = sysRoot
        self.devRoot = devRoot
    }
}
