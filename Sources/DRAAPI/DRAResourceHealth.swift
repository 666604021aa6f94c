// Messages of kubelet's DRA device health API: k8s.io/kubelet/pkg/apis/dra-health/v1
// (proto package v1) and v1alpha1 (the same, package v1alpha1).
import ProtoWire

/// `NodeWatchResourcesRequest`: no fields.
public struct NodeWatchResourcesRequest: Equatable, Sendable, ProtoMessage {
    public init() {}
    public func encode(to writer: inout ProtoWriter) {}
    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        try reader.skipField(wireType)
    }
}

/// `HealthStatus`.
public enum HealthStatus: Int32, Sendable {
    case unknown = 0, healthy = 1, unhealthy = 2
}

/// `DeviceHealth`: one device's health.
public struct DeviceHealth: Equatable, Sendable, ProtoMessage {
    /// Field 1, `DeviceIdentifier device`: its pool_name (1) and device_name (2).
    public var poolName = ""
    public var deviceName = ""
    /// Field 2; an unknown number reads as `.unknown`, and is kept in `healthValue`.
    public var healthValue: Int32 = 0
    /// Field 3: Unix seconds.
    public var lastUpdatedTime: Int64 = 0
    /// Field 4 (since kubelet 1.35).
    public var healthCheckTimeoutSeconds: Int64 = 0
    /// Field 5 (since kubelet 1.36): at most 1024 characters.
    public var message = ""

    public var health: HealthStatus {
        get { HealthStatus(rawValue: healthValue) ?? .unknown }
        set { healthValue = newValue.rawValue }
    }

    public init() {}

    public init(poolName: String, deviceName: String, health: HealthStatus, lastUpdatedTime: Int64,
                healthCheckTimeoutSeconds: Int64 = 0, message: String = "") {
        self.poolName = poolName
        self.deviceName = deviceName
        self.healthValue = health.rawValue
        self.lastUpdatedTime = lastUpdatedTime
        self.healthCheckTimeoutSeconds = healthCheckTimeoutSeconds
        self.message = message
    }

    public func encode(to writer: inout ProtoWriter) {
        var identifier = ProtoWriter()
        identifier.write(field: 1, string: poolName)
        identifier.write(field: 2, string: deviceName)
        writer.writeTag(field: 1, wireType: .lengthDelimited)
        writer.writeLengthDelimited(identifier.bytes)
        writer.write(field: 2, int32: healthValue)
        writer.write(field: 3, int64: lastUpdatedTime)
        writer.write(field: 4, int64: healthCheckTimeoutSeconds)
        writer.write(field: 5, string: message)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited):
            var identifier = ProtoReader(try reader.readBytes())
            while let field = try identifier.nextField() {
                switch (field.number, field.wireType) {
                case (1, .lengthDelimited): poolName = try identifier.readString()
                case (2, .lengthDelimited): deviceName = try identifier.readString()
                default: try identifier.skipField(field.wireType)
                }
            }
        case (2, .varint): healthValue = try reader.readInt32()
        case (3, .varint): lastUpdatedTime = try reader.readInt64()
        case (4, .varint): healthCheckTimeoutSeconds = try reader.readInt64()
        case (5, .lengthDelimited): message = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}

/// `NodeWatchResourcesResponse`: the driver's whole device list with health.
public struct NodeWatchResourcesResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var devices: [DeviceHealth] = []

    public init() {}

    public init(devices: [DeviceHealth]) { self.devices = devices }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedMessage: devices)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): devices.append(try reader.readMessage(DeviceHealth.self))
        default: try reader.skipField(wireType)
        }
    }
}
