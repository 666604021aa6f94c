// Messages of PreStartContainer (k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1/api.proto).
import ProtoWire

/// `PreStartContainerRequest`: sent before each container start when the plugin set
/// `preStartRequired`.
public struct PreStartContainerRequest: Equatable, Sendable, DeviceIDsMessage {
    /// Field 1 (`devices_ids`, formerly `devicesIDs`; same wire encoding).
    public var devicesIDs: [String] = []

    public init() {}
}

/// `PreStartContainerResponse`: no fields.
public struct PreStartContainerResponse: Equatable, Sendable, ProtoMessage {
    public init() {}

    public func encode(to writer: inout ProtoWriter) {}

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        try reader.skipField(wireType)
    }
}
