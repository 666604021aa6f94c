// Messages of GetPreferredAllocation (k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1/api.proto, since 1.19).
import ProtoWire

/// `PreferredAllocationRequest`: kubelet sends exactly one container request.
public struct PreferredAllocationRequest: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var containerRequests: [ContainerPreferredAllocationRequest] = []

    public init() {}

    public init(containerRequests: [ContainerPreferredAllocationRequest]) {
        self.containerRequests = containerRequests
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedMessage: containerRequests)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): containerRequests.append(try reader.readMessage(ContainerPreferredAllocationRequest.self))
        default: try reader.skipField(wireType)
        }
    }
}

/// `ContainerPreferredAllocationRequest`: choose `allocationSize` devices from
/// `availableDeviceIDs`, including all of `mustIncludeDeviceIDs`.
public struct ContainerPreferredAllocationRequest: Equatable, Sendable, ProtoMessage {
    /// Field 1 (`available_deviceIDs`).
    public var availableDeviceIDs: [String] = []
    /// Field 2 (`must_include_deviceIDs`).
    public var mustIncludeDeviceIDs: [String] = []
    /// Field 3 (int32).
    public var allocationSize: Int32 = 0

    public init() {}

    public init(availableDeviceIDs: [String] = [], mustIncludeDeviceIDs: [String] = [], allocationSize: Int32 = 0) {
        self.availableDeviceIDs = availableDeviceIDs
        self.mustIncludeDeviceIDs = mustIncludeDeviceIDs
        self.allocationSize = allocationSize
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedString: availableDeviceIDs)
        writer.write(field: 2, repeatedString: mustIncludeDeviceIDs)
        writer.write(field: 3, int32: allocationSize)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): availableDeviceIDs.append(try reader.readString())
        case (2, .lengthDelimited): mustIncludeDeviceIDs.append(try reader.readString())
        case (3, .varint): allocationSize = try reader.readInt32()
        default: try reader.skipField(wireType)
        }
    }
}

/// `PreferredAllocationResponse`.
public struct PreferredAllocationResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var containerResponses: [ContainerPreferredAllocationResponse] = []

    public init() {}

    public init(containerResponses: [ContainerPreferredAllocationResponse]) {
        self.containerResponses = containerResponses
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedMessage: containerResponses)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): containerResponses.append(try reader.readMessage(ContainerPreferredAllocationResponse.self))
        default: try reader.skipField(wireType)
        }
    }
}

/// `ContainerPreferredAllocationResponse`: the preferred device IDs.
public struct ContainerPreferredAllocationResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1 (`deviceIDs`).
    public var deviceIDs: [String] = []

    public init() {}

    public init(deviceIDs: [String]) {
        self.deviceIDs = deviceIDs
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedString: deviceIDs)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): deviceIDs.append(try reader.readString())
        default: try reader.skipField(wireType)
        }
    }
}
