// Messages of kubelet's DRA plugin API: k8s.io/kubelet/pkg/apis/dra/v1/api.proto (proto
// package k8s.io.kubelet.pkg.apis.dra.v1) and v1beta1, which is the same without
// Device.share_id. One Swift type serves both versions: a v1beta1 Device simply has
// no shareID.
import ProtoWire

/// `Claim`: a ResourceClaim as kubelet names it.
public struct Claim: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var namespace = ""
    /// Field 2.
    public var uid = ""
    /// Field 3.
    public var name = ""

    public init() {}

    public init(namespace: String, uid: String, name: String) {
        self.namespace = namespace
        self.uid = uid
        self.name = name
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, string: namespace)
        writer.write(field: 2, string: uid)
        writer.write(field: 3, string: name)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): namespace = try reader.readString()
        case (2, .lengthDelimited): uid = try reader.readString()
        case (3, .lengthDelimited): name = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}

/// `NodePrepareResourcesRequest` and `NodeUnprepareResourcesRequest`: field 1, `repeated Claim claims`.
public struct ClaimsRequest: Equatable, Sendable, ProtoMessage {
    public var claims: [Claim] = []

    public init() {}

    public init(claims: [Claim]) { self.claims = claims }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, repeatedMessage: claims)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): claims.append(try reader.readMessage(Claim.self))
        default: try reader.skipField(wireType)
        }
    }
}

public typealias NodePrepareResourcesRequest = ClaimsRequest
public typealias NodeUnprepareResourcesRequest = ClaimsRequest

/// `Device`: one prepared device of a claim.
public struct Device: Equatable, Sendable, ProtoMessage {
    /// Field 1: the claim's requests it serves; empty means all.
    public var requestNames: [String] = []
    /// Field 2.
    public var poolName = ""
    /// Field 3.
    public var deviceName = ""
    /// Field 4.
    public var cdiDeviceIDs: [String] = []
    /// Field 5, `optional string` (v1 only): written whenever set, even when empty.
    public var shareID: String?

    public init() {}

    public init(requestNames: [String], poolName: String, deviceName: String, cdiDeviceIDs: [String], shareID: String? = nil) {
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

/// `NodePrepareResourceResponse`: one claim's devices, or why it failed.
public struct NodePrepareResourceResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var devices: [Device] = []
    /// Field 2: non-empty when preparing failed (the devices are then ignored).
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

/// `NodeUnprepareResourceResponse`: why unpreparing one claim failed, or nothing.
public struct NodeUnprepareResourceResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1.
    public var error = ""

    public init() {}

    public init(error: String) { self.error = error }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, string: error)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): error = try reader.readString()
        default: try reader.skipField(wireType)
        }
    }
}

/// `NodePrepareResourcesResponse` and `NodeUnprepareResourcesResponse`: field 1,
/// `map<string, Response> claims`, keyed by claim UID; every claim of the request has an entry.
public struct ClaimsResponse<Response: ProtoMessage & Equatable>: Equatable, Sendable, ProtoMessage {
    public var claims: [String: Response] = [:]

    public init() {}

    public init(claims: [String: Response]) { self.claims = claims }

    /// Entries sorted by the keys' UTF-8 bytes, as protobuf-go's deterministic mode; the
    /// value is written even when it is empty.
    public func encode(to writer: inout ProtoWriter) {
        for key in claims.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            var entry = ProtoWriter()
            entry.writeTag(field: 1, wireType: .lengthDelimited)
            entry.writeLengthDelimited(key.utf8)
            entry.write(field: 2, message: claims[key]!)
            writer.writeTag(field: 1, wireType: .lengthDelimited)
            writer.writeLengthDelimited(entry.bytes)
        }
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited):
            var entry = ProtoReader(try reader.readBytes())
            var key = ""
            var value = Response()
            while let field = try entry.nextField() {
                switch (field.number, field.wireType) {
                case (1, .lengthDelimited): key = try entry.readString()
                case (2, .lengthDelimited): try entry.readMessage(into: &value)
                default: try entry.skipField(field.wireType)
                }
            }
            claims[key] = value
        default: try reader.skipField(wireType)
        }
    }
}

public typealias NodePrepareResourcesResponse = ClaimsResponse<NodePrepareResourceResponse>
public typealias NodeUnprepareResourcesResponse = ClaimsResponse<NodeUnprepareResourceResponse>
