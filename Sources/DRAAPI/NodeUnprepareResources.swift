// Messages of NodeUnprepareResources (k8s.io/kubelet/pkg/apis/dra/v1/api.proto; the
// same in dra/v1beta1).
import ProtoWire

/// `NodeUnprepareResourcesRequest`: the claims kubelet no longer needs prepared. It
/// carries only namespace, UID and name, so what preparing did must be checkpointed.
public struct NodeUnprepareResourcesRequest: Equatable, Sendable, ClaimsRequest {
    /// Field 1.
    public var claims: [Claim] = []

    public init() {}
}

/// `NodeUnprepareResourcesResponse`: every claim of the request has an entry, even
/// one that succeeded.
public struct NodeUnprepareResourcesResponse: Equatable, Sendable, ClaimsResponse {
    /// Field 1, `map<string, NodeUnprepareResourceResponse>`, keyed by claim UID.
    public var claims: [String: NodeUnprepareResourceResponse] = [:]

    public init() {}
}

/// `NodeUnprepareResourceResponse`: why unpreparing one claim failed, or "".
public struct NodeUnprepareResourceResponse: Equatable, Sendable, ProtoMessage {
    /// Field 1: non-empty when unpreparing failed.
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
