// `Claim` of k8s.io/kubelet/pkg/apis/dra/v1/api.proto; dra/v1beta1 has the same message.
import ProtoWire

/// `Claim`: a ResourceClaim as kubelet names it in NodePrepareResources and
/// NodeUnprepareResources. kubelet sends only these three; the driver reads the rest
/// of the claim from the API server.
public struct Claim: Equatable, Sendable, ProtoMessage {
    /// Field 1: the ResourceClaim's namespace.
    public var namespace = ""
    /// Field 2: the ResourceClaim's UID, the key of the response maps.
    public var uid = ""
    /// Field 3: the ResourceClaim's name.
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
