import HPACK

/// The field-section rules of RFC 9113 §8.2 and §8.3: a request or trailers that
/// break them is malformed, which is a stream error PROTOCOL_ERROR (§8.1.1).
enum HeaderValidation {
    /// Connection-specific fields, forbidden in HTTP/2 (§8.2.2).
    static let connectionSpecific: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]
    static let requestPseudoHeaders: Set<String> = [":method", ":scheme", ":path", ":authority"]

    /// Returns nil when valid, or what is wrong.
    static func checkRequest(_ fields: [HeaderField]) -> String? {
        var seenPseudo: Set<String> = []
        var regularSeen = false
        for field in fields {
            if let problem = checkName(field.name) { return problem }
            if field.name.hasPrefix(":") {
                if regularSeen { return "pseudo-header \(field.name) after a regular field" }
                guard requestPseudoHeaders.contains(field.name) else { return "pseudo-header \(field.name) is not allowed in a request" }
                guard seenPseudo.insert(field.name).inserted else { return "duplicate pseudo-header \(field.name)" }
            } else {
                regularSeen = true
                if let problem = checkRegular(field) { return problem }
            }
        }
        for required in [":method", ":scheme", ":path"] where !seenPseudo.contains(required) {
            return "request lacks \(required)"
        }
        if fields.contains(where: { $0.name == ":path" && $0.value.isEmpty }) { return "empty :path" }
        return nil
    }

    static func checkResponse(_ fields: [HeaderField]) -> String? {
        var regularSeen = false
        var status = 0
        for field in fields {
            if let problem = checkName(field.name) { return problem }
            if field.name.hasPrefix(":") {
                if regularSeen { return "pseudo-header \(field.name) after a regular field" }
                guard field.name == ":status" else { return "pseudo-header \(field.name) is not allowed in a response" }
                status += 1
            } else {
                regularSeen = true
                if let problem = checkRegular(field) { return problem }
            }
        }
        return status == 1 ? nil : "response needs exactly one :status"
    }

    static func checkTrailers(_ fields: [HeaderField]) -> String? {
        for field in fields {
            if let problem = checkName(field.name) { return problem }
            if field.name.hasPrefix(":") { return "pseudo-header \(field.name) in trailers" }
            if let problem = checkRegular(field) { return problem }
        }
        return nil
    }

    private static func checkName(_ name: String) -> String? {
        if name.isEmpty { return "empty field name" }
        if name.utf8.contains(where: { (0x41...0x5a).contains($0) }) { return "field name \(name) has upper-case characters" }
        return nil
    }

    private static func checkRegular(_ field: HeaderField) -> String? {
        if connectionSpecific.contains(field.name) { return "connection-specific field \(field.name)" }
        if field.name == "te" && field.value != "trailers" { return "te: \(field.value) (only \"trailers\" is allowed)" }
        return nil
    }
}
