import GRPC

/// The service names kubelet expects in a DRA plugin's GetInfo `supported_versions`.
public enum DRAServiceName {
    public static let pluginV1 = "v1.DRAPlugin"
    public static let pluginV1beta1 = "v1beta1.DRAPlugin"
    public static let healthV1alpha1 = "v1alpha1.DRAResourceHealth"
    public static let healthV1 = "v1.DRAResourceHealth"
    /// GetInfo's `type`.
    public static let pluginType = "DRAPlugin"
}

/// `DRAPlugin`, in `dra/v1` and `dra/v1beta1`.
public struct DRAPluginService: Sendable {
    public let nodePrepareResources: GRPCMethod<NodePrepareResourcesRequest, NodePrepareResourcesResponse>
    public let nodeUnprepareResources: GRPCMethod<NodeUnprepareResourcesRequest, NodeUnprepareResourcesResponse>

    init(package: String) {
        nodePrepareResources = GRPCMethod(path: "/\(package).DRAPlugin/NodePrepareResources")
        nodeUnprepareResources = GRPCMethod(path: "/\(package).DRAPlugin/NodeUnprepareResources")
    }

    public static let v1 = DRAPluginService(package: "k8s.io.kubelet.pkg.apis.dra.v1")
    public static let v1beta1 = DRAPluginService(package: "k8s.io.kubelet.pkg.apis.dra.v1beta1")
}

/// `DRAResourceHealth`, in `dra-health/v1alpha1` and `v1`: a server stream.
public enum DRAResourceHealthService {
    public static let nodeWatchResourcesV1alpha1 = GRPCMethod<NodeWatchResourcesRequest, NodeWatchResourcesResponse>(
        path: "/v1alpha1.DRAResourceHealth/NodeWatchResources")
    public static let nodeWatchResourcesV1 = GRPCMethod<NodeWatchResourcesRequest, NodeWatchResourcesResponse>(
        path: "/v1.DRAResourceHealth/NodeWatchResources")
}
