// Messages of kubelet's DRA device health API, KEP-4680:
// k8s.io/kubelet/pkg/apis/dra-health/v1/api.proto (proto package v1) and v1alpha1,
// the same with package v1alpha1. Fields 4 and 5 of DeviceHealth came in kubelet 1.35
// and 1.36; an older kubelet skips them.
import ProtoWire

/// `NodeWatchResourcesRequest`: no fields.
public struct NodeWatchResourcesRequest: Equatable, Sendable, ProtoMessage {
    public init() {}

    public func encode(to writer: inout ProtoWriter) {}

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        try reader.skipField(wireType)
    }
}

/// `NodeWatchResourcesResponse`: every device of the driver with its health. Each
/// message is the complete list; a device left out becomes Unknown after its timeout.
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

/// `HealthStatus`, a proto3 enum and so open: a number this code does not name (from a
/// newer peer) is kept as it came, not turned into `.unknown`.
public struct HealthStatus: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `UNKNOWN = 0`: the health cannot be determined.
    public static let unknown = HealthStatus(rawValue: 0)
    /// `HEALTHY = 1`.
    public static let healthy = HealthStatus(rawValue: 1)
    /// `UNHEALTHY = 2`.
    public static let unhealthy = HealthStatus(rawValue: 2)
}

/// `DeviceIdentifier`: a device as the driver published it in a ResourceSlice.
public struct DeviceIdentifier: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var poolName = ""
    /// Field 2: unique within the pool.
    public var deviceName = ""

    public init() {}

    public init(poolName: String, deviceName: String) {
        self.poolName = poolName
        self.deviceName = deviceName
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, string: poolName)
        writer.write(field: 2, string: deviceName)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): poolName = try reader.readString()
        case (2, .lengthDelimited): deviceName = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}

/// `DeviceHealth`: one device's health.
public struct DeviceHealth: Equatable, Sendable, ProtoMessage {
    /// Field 1: nil when absent; present but empty encodes as `0A 00`.
    public var device: DeviceIdentifier?
    /// Field 2.
    public var health = HealthStatus.unknown
    /// Field 3: Unix seconds of the last check.
    public var lastUpdatedTime: Int64 = 0
    /// Field 4: how long kubelet waits for the next update; zero or negative means
    /// kubelet's default.
    public var healthCheckTimeoutSeconds: Int64 = 0
    /// Field 5: details; kubelet truncates past 1024 characters.
    public var message = ""

    public init() {}

    public init(device: DeviceIdentifier?, health: HealthStatus, lastUpdatedTime: Int64,
                healthCheckTimeoutSeconds: Int64 = 0, message: String = "") {
        self.device = device
        self.health = health
        self.lastUpdatedTime = lastUpdatedTime
        self.healthCheckTimeoutSeconds = healthCheckTimeoutSeconds
        self.message = message
    }

    /// The usual case: the device identified by its pool and name.
    public init(poolName: String, deviceName: String, health: HealthStatus, lastUpdatedTime: Int64,
                healthCheckTimeoutSeconds: Int64 = 0, message: String = "") {
        self.init(device: DeviceIdentifier(poolName: poolName, deviceName: deviceName), health: health,
                  lastUpdatedTime: lastUpdatedTime, healthCheckTimeoutSeconds: healthCheckTimeoutSeconds, message: message)
    }

    public func encode(to writer: inout ProtoWriter) {
        if let device { writer.write(field: 1, message: device) }
        writer.write(field: 2, int32: health.rawValue)
        writer.write(field: 3, int64: lastUpdatedTime)
        writer.write(field: 4, int64: healthCheckTimeoutSeconds)
        writer.write(field: 5, string: message)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited):
            var merged = device ?? DeviceIdentifier()
            try reader.readMessage(into: &merged)
            device = merged
        case (2, .varint): health = HealthStatus(rawValue: try reader.readInt32())
        case (3, .varint): lastUpdatedTime = try reader.readInt64()
        case (4, .varint): healthCheckTimeoutSeconds = try reader.readInt64()
        case (5, .lengthDelimited): message = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}
