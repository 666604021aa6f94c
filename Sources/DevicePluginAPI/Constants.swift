// k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1/constants.go

/// The device-plugin API version this module implements; kubelet accepts only
/// versions in its `SupportedVersions` (`["v1beta1"]`).
public let devicePluginAPIVersion = "v1beta1"

/// Values of `Device.health`. Kubelet compares with `"Healthy"` exactly; any other
/// string counts as unhealthy.
public enum DeviceHealth {
    public static let healthy = "Healthy"
    public static let unhealthy = "Unhealthy"
}
