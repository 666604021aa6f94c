// Messages of kubelet's plugin watcher (k8s.io/kubelet/pkg/apis/pluginregistration/v1,
// proto package `pluginregistration`), which a plugin serves on a socket in
// /var/lib/kubelet/plugins_registry.
import ProtoWire

/// `InfoRequest`: GetInfo's empty request.
public typealias InfoRequest = Empty

/// `PluginInfo`: who is behind a socket in plugins_registry.
public struct PluginInfo: Equatable, Sendable, ProtoMessage {
    /// Field 1: `DevicePlugin` (or `CSIPlugin`, `DRAPlugin`).
    public var type = ""
    /// Field 2: for a device plugin, the extended resource name.
    public var name = ""
    /// Field 3: where kubelet talks to the plugin; empty for this same socket.
    public var endpoint = ""
    /// Field 4: the device-plugin API versions served there.
    public var supportedVersions: [String] = []

    public init() {}

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, string: type)
        writer.write(field: 2, string: name)
        writer.write(field: 3, string: endpoint)
        writer.write(field: 4, repeatedString: supportedVersions)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): type = try reader.readString()
        case (2, .lengthDelimited): name = try reader.readString()
        case (3, .lengthDelimited): endpoint = try reader.readString()
        case (4, .lengthDelimited): supportedVersions.append(try reader.readString())
        default: try reader.skipField(wireType)
        }
    }
}

/// `RegistrationStatus`: kubelet's verdict on a plugin it found.
public struct RegistrationStatus: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var pluginRegistered = false
    /// Field 2: why not, when not.
    public var error = ""

    public init() {}

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, bool: pluginRegistered)
        writer.write(field: 2, string: error)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .varint): pluginRegistered = try reader.readBool()
        case (2, .lengthDelimited): error = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}

/// `RegistrationStatusResponse`: no fields.
public typealias RegistrationStatusResponse = Empty
