// The `map<string, Message> claims = 1` fields of the DRA responses. On the wire a map
// is a repeated entry message with the key in field 1 and the value in field 2
// (protobuf encoding spec, "Maps"); ProtoWire's own map helpers cover only
// map<string, string>.
import ProtoWire

/// One entry of a `map<string, Value>` field.
struct ClaimMapEntry<Value: ProtoMessage>: ProtoMessage {
    var key = ""
    var value = Value()

    init() {}

    init(key: String, value: Value) {
        self.key = key
        self.value = value
    }

    /// Key and value are written even when empty, as protobuf-go, C++ and upb do.
    func encode(to writer: inout ProtoWriter) {
        writer.writeTag(field: 1, wireType: .lengthDelimited)
        writer.writeLengthDelimited(key.utf8)
        writer.write(field: 2, message: value)
    }

    /// A missing key is "", a missing value is the default message (kubelet's Go code
    /// writes no value for a nil entry); a repeated value merges.
    mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): key = try reader.readString()
        case (2, .lengthDelimited): try reader.readMessage(into: &value)
        default: try reader.skipField(wireType)
        }
    }
}

extension ProtoWriter {
    /// One entry per key, sorted by the keys' UTF-8 bytes as protobuf-go's deterministic
    /// mode does (and as ProtoWire's `write(field:map:)` does for string values).
    mutating func write<Value: ProtoMessage>(field: Int, claimMap map: [String: Value]) {
        for (key, value) in map.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            write(field: field, message: ClaimMapEntry(key: key, value: value))
        }
    }
}

extension ProtoReader {
    /// Reads one entry into `map`; a repeated key replaces the earlier value (encoding
    /// spec, "Maps": the last key seen is used).
    mutating func readClaimMapEntry<Value: ProtoMessage>(into map: inout [String: Value]) throws {
        let entry = try readMessage(ClaimMapEntry<Value>.self)
        map[entry.key] = entry.value
    }
}

/// The two requests: field 1, `repeated Claim claims`.
public protocol ClaimsRequest: ProtoMessage {
    var claims: [Claim] { get set }
}

extension ClaimsRequest {
    public init(claims: [Claim]) {
        self.init()
        self.claims = claims
    }

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

/// The two responses: field 1, `map<string, Response> claims`, keyed by claim UID.
public protocol ClaimsResponse: ProtoMessage {
    associatedtype Response: ProtoMessage
    var claims: [String: Response] { get set }
}

extension ClaimsResponse {
    public init(claims: [String: Response]) {
        self.init()
        self.claims = claims
    }

    public func encode(to writer: inout ProtoWriter) {
        writer.write(field: 1, claimMap: claims)
    }

    public mutating func decodeField(number: Int, wireType: WireType, from reader: inout ProtoReader) throws {
        switch (number, wireType) {
        case (1, .lengthDelimited): try reader.readClaimMapEntry(into: &claims)
        default: try reader.skipField(wireType)
        }
    }
}
