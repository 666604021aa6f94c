import GRPC

/// kubelet's Registration service (served on kubelet.sock).
public enum RegistrationService {
    public static let register = GRPCMethod<RegisterRequest, Empty>(path: "/v1beta1.Registration/Register")
}

/// The plugin watcher's Registration service, served by the plugin on its socket in
/// plugins_registry; kubelet calls it when the socket appears.
public enum PluginRegistrationService {
    public static let getInfo = GRPCMethod<InfoRequest, PluginInfo>(path: "/pluginregistration.Registration/GetInfo")
    public static let notifyRegistrationStatus = GRPCMethod<RegistrationStatus, RegistrationStatusResponse>(
        path: "/pluginregistration.Registration/NotifyRegistrationStatus")
}

/// The DevicePlugin service every plugin serves on its own socket.
public enum DevicePluginService {
    public static let getDevicePluginOptions = GRPCMethod<Empty, DevicePluginOptions>(path: "/v1beta1.DevicePlugin/GetDevicePluginOptions")
    public static let listAndWatch = GRPCMethod<Empty, ListAndWatchResponse>(path: "/v1beta1.DevicePlugin/ListAndWatch")
    public static let getPreferredAllocation = GRPCMethod<PreferredAllocationRequest, PreferredAllocationResponse>(path: "/v1beta1.DevicePlugin/GetPreferredAllocation")
    public static let allocate = GRPCMethod<AllocateRequest, AllocateResponse>(path: "/v1beta1.DevicePlugin/Allocate")
    public static let preStartContainer = GRPCMethod<PreStartContainerRequest, PreStartContainerResponse>(path: "/v1beta1.DevicePlugin/PreStartContainer")
}
