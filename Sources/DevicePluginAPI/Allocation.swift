// Messages of Allocate (k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1/api.proto).
import ProtoWire

/// `AllocateRequest`: kubelet sends exactly one container request per call.
public struct AllocateRequest: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var containerRequests: [ContainerAllocateRequest] = []

    public init() {}

    public init(containerRequests: [ContainerAllocateRequest]) {
        self.containerRequests = containerRequests
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedMessage: containerRequests)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): containerRequests.append(try reader.readMessage(ContainerAllocateRequest.self))
        default: try reader.skipField(wireType)
        }
    }
}

/// A message whose one field is field 1, `repeated string devices_ids`: kubelet's
/// request for one container in Allocate and in PreStartContainer.
public protocol DeviceIDsMessage: ProtoMessage {
    var devicesIDs: [String] { get set }
}

extension DeviceIDsMessage {
    public init(devicesIDs: [String]) {
        self.init()
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

/// `ContainerAllocateRequest`: the devices kubelet chose for one container.
public struct ContainerAllocateRequest: Equatable, Sendable, DeviceIDsMessage {
    /// Field 1 (`devices_ids`).
    public var devicesIDs: [String] = []

    public init() {}
}

/// `AllocateResponse`: kubelet uses only `containerResponses[0]`.
public struct AllocateResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var containerResponses: [ContainerAllocateResponse] = []

    public init() {}

    public init(containerResponses: [ContainerAllocateResponse]) {
        self.containerResponses = containerResponses
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedMessage: containerResponses)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): containerResponses.append(try reader.readMessage(ContainerAllocateResponse.self))
        default: try reader.skipField(wireType)
        }
    }
}

/// `ContainerAllocateResponse`: what kubelet injects into the container.
public struct ContainerAllocateResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1 (map): environment variables.
    public var envs: [String: String] = [:]
    /// Field 2: host paths to mount.
    public var mounts: [Mount] = []
    /// Field 3: device nodes.
    public var devices: [DeviceSpec] = []
    /// Field 4 (map): annotations passed to the container runtime.
    public var annotations: [String: String] = [:]
    /// Field 5 (since 1.28): CDI devices.
    public var cdiDevices: [CDIDevice] = []

    public init() {}

    public init(
        envs: [String: String] = [:], mounts: [Mount] = [], devices: [DeviceSpec] = [],
        annotations: [String: String] = [:], cdiDevices: [CDIDevice] = []
    ) {
        self.envs = envs
        self.mounts = mounts
        self.devices = devices
        self.annotations = annotations
        self.cdiDevices = cdiDevices
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, map: envs)
        writer.write(field: 2, repeatedMessage: mounts)
        writer.write(field: 3, repeatedMessage: devices)
        writer.write(field: 4, map: annotations)
        writer.write(field: 5, repeatedMessage: cdiDevices)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): try reader.readMapEntry(into: &envs)
        case (2, .lengthDelimited): mounts.append(try reader.readMessage(Mount.self))
        case (3, .lengthDelimited): devices.append(try reader.readMessage(DeviceSpec.self))
        case (4, .lengthDelimited): try reader.readMapEntry(into: &annotations)
        case (5, .lengthDelimited): cdiDevices.append(try reader.readMessage(CDIDevice.self))
        default: try reader.skipField(wireType)
        }
    }
}

/// `Mount`: a host path mounted into the container.
public struct Mount: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var containerPath = ""
    /// Field 2.
    public var hostPath = ""
    /// Field 3.
    public var readOnly = false

    public init() {}

    public init(containerPath: String = "", hostPath: String = "", readOnly: Bool = false) {
        self.containerPath = containerPath
        self.hostPath = hostPath
        self.readOnly = readOnly
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, string: containerPath)
        writer.write(field: 2, string: hostPath)
        writer.write(field: 3, bool: readOnly)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): containerPath = try reader.readString()
        case (2, .lengthDelimited): hostPath = try reader.readString()
        case (3, .varint): readOnly = try reader.readBool()
        default: try reader.skipField(wireType)
        }
    }
}

/// `DeviceSpec`: a host device node exposed in the container.
public struct DeviceSpec: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var containerPath = ""
    /// Field 2.
    public var hostPath = ""
    /// Field 3: cgroup permissions, any of `r`, `w`, `m`.
    public var permissions = ""

    public init() {}

    public init(containerPath: String = "", hostPath: String = "", permissions: String = "") {
        self.containerPath = containerPath
        self.hostPath = hostPath
        self.permissions = permissions
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, string: containerPath)
        writer.write(field: 2, string: hostPath)
        writer.write(field: 3, string: permissions)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): containerPath = try reader.readString()
        case (2, .lengthDelimited): hostPath = try reader.readString()
        case (3, .lengthDelimited): permissions = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}

/// `CDIDevice`: a fully qualified CDI device name, e.g. `vendor.com/gpu=gpudevice1` (KEP-4009).
public struct CDIDevice: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var name = ""

    public init() {}

    public init(name: String) {
        self.name = name
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, string: name)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): name = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}
