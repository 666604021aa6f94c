import HPACK

/// Response header blocks. grpc-go clients need `content-type` even in Trailers-Only.
enum GRPCResponseHeaders {
    static let initial = [HeaderField(name: ":status", value: "200"), HeaderField(name: "content-type", value: "application/grpc")]

    static func trailers(_ status: GRPCStatus) -> [HeaderField] {
        [HeaderField(name: "grpc-status", value: String(status.code.rawValue)),
         HeaderField(name: "grpc-message", value: GRPCStatus.percentEncode(status.message))]
    }

    static func trailersOnly(_ status: GRPCStatus) -> [HeaderField] { initial + trailers(status) }
}
