// Messages of NodePrepareResources (k8s.io/kubelet/pkg/apis/dra/v1/api.proto, proto
// package k8s.io.kubelet.pkg.apis.dra.v1). dra/v1beta1 is the same without
// Device.share_id, so one Swift type serves both: a v1beta1 Device has shareID nil,
// and then field 5 is never written.
import ProtoWire

/// `NodePrepareResourcesRequest`: the claims kubelet wants prepared for a pod.
public struct NodePrepareResourcesRequest: Equatable, Sendable, ClaimsRequest {
    /// Field 1.
    public var claims: [Claim] = []

    public init() {}
}

/// `NodePrepareResourcesResponse`: one answer per claim of the request; a claim left
/// out is retried by kubelet.
public struct NodePrepareResourcesResponse: Equatable, Sendable, ClaimsResponse {
    /// Field 1, `map<string, NodePrepareResourceResponse>`, keyed by claim UID.
    public var claims: [String: NodePrepareResourceResponse] = [:]

    public init() {}
}

/// `NodePrepareResourceResponse`: one claim's devices, or why preparing it failed.
public struct NodePrepareResourceResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1: what kubelet passes to the container runtime (by CDI ID).
    public var devices: [Device] = []
    /// Field 2: non-empty when preparing failed; kubelet then ignores the devices.
    public var error = ""

    public init() {}

    public init(devices: [Device] = [], error: String = "") {
        self.devices = devices
        self.error = error
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedMessage: devices)
        writer.write(field: 2, string: error)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): devices.append(try reader.readMessage(Device.self))
        case (2, .lengthDelimited): error = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}

/// `Device`: one prepared device of a claim.
public struct Device: Equatable, Sendable, ProtoMessage {
    /// Field 1: the claim's requests this device serves; empty means all of them.
    public var requestNames: [String] = []
    /// Field 2: the pool as published in the ResourceSlice.
    public var poolName = ""
    /// Field 3: the device's name in that pool.
    public var deviceName = ""
    /// Field 4: fully qualified CDI device IDs (`vendor/class=name`), none or several.
    public var cdiDeviceIDs: [String] = []
    /// Field 5, `optional string share_id` (dra/v1 only, kubelet ≥ 1.35): written
    /// whenever non-nil, even when empty. nil for dra/v1beta1, which has no field 5.
    public var shareID: String?

    public init() {}

    public init(requestNames: [String] = [], poolName: String, deviceName: String, cdiDeviceIDs: [String] = [],
                shareID: String? = nil) {
        self.requestNames = requestNames
        self.poolName = poolName
        self.deviceName = deviceName
        self.cdiDeviceIDs = cdiDeviceIDs
        self.shareID = shareID
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedString: requestNames)
        writer.write(field: 2, string: poolName)
        writer.write(field: 3, string: deviceName)
        writer.write(field: 4, repeatedString: cdiDeviceIDs)
        // `write(field:string:)` omits "", but an optional field is written when present.
        if let shareID {
            writer.writeTag(field: 5, wireType: .lengthDelimited)
            writer.writeLengthDelimited(shareID.utf8)
        }
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): requestNames.append(try reader.readString())
        case (2, .lengthDelimited): poolName = try reader.readString()
        case (3, .lengthDelimited): deviceName = try reader.readString()
        case (4, .lengthDelimited): cdiDeviceIDs.append(try reader.readString())
        case (5, .lengthDelimited): shareID = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}
