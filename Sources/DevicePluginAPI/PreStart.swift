// Messages of PreStartContainer (k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1/api.proto).
import ProtoWire

/// `PreStartContainerRequest`: sent before each container start when the plugin set
/// `preStartRequired`.
public struct PreStartContainerRequest: Equatable, Sendable, ProtoMessage {
    /// Field 1 (`devices_ids`, formerly `devicesIDs`; same wire encoding).
    public var devicesIDs: [String] = []

    public init() {}

    public init(devicesIDs: [String]) {
        self.devicesIDs = devicesIDs
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedString: devicesIDs)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): devicesIDs.append(try reader.readString())
        default: try reader.skipField(wireType)
        }
    }
}

/// `PreStartContainerResponse`: no fields.
public struct PreStartContainerResponse: Equatable, Sendable, ProtoMessage {
    public init() {}

    public func encode(to writer: inout ProtoWriter) {}

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        try reader.skipField(wireType)
    }
}
