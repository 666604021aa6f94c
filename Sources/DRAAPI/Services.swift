import GRPC

/// The service names a DRA driver lists in GetInfo's `supported_versions`
/// (PluginInfo, in DevicePluginAPI); kubelet uses the newest one it supports.
public enum DRAServiceName {
    /// `pkg/apis/dra/v1/types.go` DRAPluginService (kubelet ≥ 1.34).
    public static let pluginV1 = "v1.DRAPlugin"
    /// `pkg/apis/dra/v1beta1`: the version before v1, for older kubelets.
    public static let pluginV1beta1 = "v1beta1.DRAPlugin"
    /// `pkg/apis/dra-health/v1alpha1` (kubelet ≥ 1.34; kubernetes/kubernetes issue #140838: accepted until 1.40).
    public static let healthV1alpha1 = "v1alpha1.DRAResourceHealth"
    /// `pkg/apis/dra-health/v1` (kubelet ≥ 1.37, which prefers it).
    public static let healthV1 = "v1.DRAResourceHealth"
    /// GetInfo's `type` for a DRA driver (`pkg/apis/pluginregistration/v1/constants.go` DRAPlugin).
    public static let pluginType = "DRAPlugin"
}

/// `DRAPlugin`, in `dra/v1` and `dra/v1beta1`: the same methods and messages under two
/// proto packages (a v1beta1 `Device` has no `shareID`).
public struct DRAPluginService: Sendable {
    public let nodePrepareResources: GRPCMethod<NodePrepareResourcesRequest, NodePrepareResourcesResponse>
    public let nodeUnprepareResources: GRPCMethod<NodeUnprepareResourcesRequest, NodeUnprepareResourcesResponse>

    private init(package: String) {
        nodePrepareResources = GRPCMethod(path: "/\(package).DRAPlugin/NodePrepareResources")
        nodeUnprepareResources = GRPCMethod(path: "/\(package).DRAPlugin/NodeUnprepareResources")
    }

    /// Served as `DRAServiceName.pluginV1`.
    public static let v1 = DRAPluginService(package: "k8s.io.kubelet.pkg.apis.dra.v1")
    /// Served as `DRAServiceName.pluginV1beta1`.
    public static let v1beta1 = DRAPluginService(package: "k8s.io.kubelet.pkg.apis.dra.v1beta1")
}

/// `DRAResourceHealth`, in `dra-health/v1alpha1` and `v1`: one server-streaming method.
public enum DRAResourceHealthService {
    /// Served as `DRAServiceName.healthV1alpha1`.
    public static let nodeWatchResourcesV1alpha1 = GRPCMethod<NodeWatchResourcesRequest, NodeWatchResourcesResponse>(
        path: "/v1alpha1.DRAResourceHealth/NodeWatchResources")
    /// Served as `DRAServiceName.healthV1`.
    public static let nodeWatchResourcesV1 = GRPCMethod<NodeWatchResourcesRequest, NodeWatchResourcesResponse>(
        path: "/v1.DRAResourceHealth/NodeWatchResources")
}
