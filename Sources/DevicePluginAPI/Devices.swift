// Messages of ListAndWatch (k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1/api.proto).
import ProtoWire

/// `ListAndWatchResponse`: the plugin's full device list; each message replaces the previous one.
public struct ListAndWatchResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var devices: [Device] = []

    public init() {}

    public init(devices: [Device]) {
        self.devices = devices
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedMessage: devices)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): devices.append(try reader.readMessage(Device.self))
        default: try reader.skipField(wireType)
        }
    }
}

/// `Device`: one schedulable device.
public struct Device: Equatable, Sendable, ProtoMessage {
    /// Field 1 (`ID`): unique per plugin, at most 63 characters (api.proto comment).
    public var id = ""
    /// Field 2: `DeviceHealth.healthy` or `DeviceHealth.unhealthy`.
    public var health = ""
    /// Field 3: nil when absent; present but empty encodes as `1A 00`.
    public var topology: TopologyInfo?

    public init() {}

    public init(id: String = "", health: String = "", topology: TopologyInfo? = nil) {
        self.id = id
        self.health = health
        self.topology = topology
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, string: id)
        writer.write(field: 2, string: health)
        if let topology { writer.write(field: 3, message: topology) }
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): id = try reader.readString()
        case (2, .lengthDelimited): health = try reader.readString()
        case (3, .lengthDelimited):
            var merged = topology ?? TopologyInfo()
            try reader.readMessage(into: &merged)
            topology = merged
        default: try reader.skipField(wireType)
        }
    }
}

/// `TopologyInfo`: the NUMA nodes a device is attached to.
public struct TopologyInfo: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var nodes: [NUMANode] = []

    public init() {}

    public init(nodes: [NUMANode]) {
        self.nodes = nodes
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedMessage: nodes)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): nodes.append(try reader.readMessage(NUMANode.self))
        default: try reader.skipField(wireType)
        }
    }
}

/// `NUMANode`. Node 0 encodes as an empty message (its ID is the default).
public struct NUMANode: Equatable, Sendable, ProtoMessage {
    /// Field 1 (`ID`, int64).
    public var id: Int64 = 0

    public init() {}

    public init(id: Int64) {
        self.id = id
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, int64: id)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .varint): id = try reader.readInt64()
        default: try reader.skipField(wireType)
        }
    }
}
