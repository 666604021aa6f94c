// Messages of service Registration and of GetDevicePluginOptions
// (k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1/api.proto).
import ProtoWire

/// `DevicePluginOptions`: what the plugin supports, returned by GetDevicePluginOptions.
public struct DevicePluginOptions: Equatable, Sendable, ProtoMessage {
    /// Field 1: kubelet must call PreStartContainer before each container start.
    public var preStartRequired = false
    /// Field 2: GetPreferredAllocation is implemented (since Kubernetes 1.19).
    public var getPreferredAllocationAvailable = false

    public init() {}

    public init(preStartRequired: Bool = false, getPreferredAllocationAvailable: Bool = false) {
        self.preStartRequired = preStartRequired
        self.getPreferredAllocationAvailable = getPreferredAllocationAvailable
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, bool: preStartRequired)
        writer.write(field: 2, bool: getPreferredAllocationAvailable)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .varint): preStartRequired = try reader.readBool()
        case (2, .varint): getPreferredAllocationAvailable = try reader.readBool()
        default: try reader.skipField(wireType)
        }
    }
}

/// `RegisterRequest`: the plugin's call to kubelet's Registration.Register.
public struct RegisterRequest: Equatable, Sendable, ProtoMessage {
    /// Field 1: the API version the plugin was built against (`devicePluginAPIVersion`).
    public var version = ""
    /// Field 2: the plugin socket's file name, relative to kubelet's device-plugin directory.
    public var endpoint = ""
    /// Field 3: the extended resource name, e.g. `example.com/resource`.
    public var resourceName = ""
    /// Field 4: nil when absent. Current kubelets ignore it and call GetDevicePluginOptions.
    public var options: DevicePluginOptions?

    public init() {}

    public init(version: String = "", endpoint: String = "", resourceName: String = "", options: DevicePluginOptions? = nil) {
        self.version = version
        self.endpoint = endpoint
        self.resourceName = resourceName
        self.options = options
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, string: version)
        writer.write(field: 2, string: endpoint)
        writer.write(field: 3, string: resourceName)
        if let options { writer.write(field: 4, message: options) }
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): version = try reader.readString()
        case (2, .lengthDelimited): endpoint = try reader.readString()
        case (3, .lengthDelimited): resourceName = try reader.readString()
        case (4, .lengthDelimited):
            var merged = options ?? DevicePluginOptions()
            try reader.readMessage(into: &merged)
            options = merged
        default: try reader.skipField(wireType)
        }
    }
}

/// `Empty`: no fields; encodes to zero bytes.
public struct Empty: Equatable, Sendable, ProtoMessage {
    public init() {}

    public func encode(to writer: inout ProtoWriter) {}

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        try reader.skipField(wireType)
    }
}
