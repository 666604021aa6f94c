/// The static table of RFC 7541 Appendix A: 61 predefined fields at indices 1...61, before the
/// dynamic table's entries in the shared index space (§2.3.3).
enum StaticHeaderTable {
    /// Number of entries; dynamic table indices start right after (§2.3.3).
    static let count = 61

    /// The entries in index order; `entries[0]` is index 1.
    static let entries: [(name: String, value: String)] = [
        (":authority", ""),                     // 1
        (":method", "GET"),                     // 2
        (":method", "POST"),                    // 3
        (":path", "/"),                         // 4
        (":path", "/index.html"),               // 5
        (":scheme", "http"),                    // 6
        (":scheme", "https"),                   // 7
        (":status", "200"),                     // 8
        (":status", "204"),                     // 9
        (":status", "206"),                     // 10
        (":status", "304"),                     // 11
        (":status", "400"),                     // 12
        (":status", "404"),                     // 13
        (":status", "500"),                     // 14
        ("accept-charset", ""),                 // 15
        ("accept-encoding", "gzip, deflate"),   // 16
        ("accept-language", ""),                // 17
        ("accept-ranges", ""),                  // 18
        ("accept", ""),                         // 19
        ("access-control-allow-origin", ""),    // 20
        ("age", ""),                            // 21
        ("allow", ""),                          // 22
        ("authorization", ""),                  // 23
        ("cache-control", ""),                  // 24
        ("content-disposition", ""),            // 25
        ("content-encoding", ""),               // 26
        ("content-language", ""),               // 27
        ("content-length", ""),                 // 28
        ("content-location", ""),               // 29
        ("content-range", ""),                  // 30
        ("content-type", ""),                   // 31
        ("cookie", ""),                         // 32
        ("date", ""),                           // 33
        ("etag", ""),                           // 34
        ("expect", ""),                         // 35
        ("expires", ""),                        // 36
        ("from", ""),                           // 37
        ("host", ""),                           // 38
        ("if-match", ""),                       // 39
        ("if-modified-since", ""),              // 40
        ("if-none-match", ""),                  // 41
        ("if-range", ""),                       // 42
        ("if-unmodified-since", ""),            // 43
        ("last-modified", ""),                  // 44
        ("link", ""),                           // 45
        ("location", ""),                       // 46
        ("max-forwards", ""),                   // 47
        ("proxy-authenticate", ""),             // 48
        ("proxy-authorization", ""),            // 49
        ("range", ""),                          // 50
        ("referer", ""),                        // 51
        ("refresh", ""),                        // 52
        ("retry-after", ""),                    // 53
        ("server", ""),                         // 54
        ("set-cookie", ""),                     // 55
        ("strict-transport-security", ""),      // 56
        ("transfer-encoding", ""),              // 57
        ("user-agent", ""),                     // 58
        ("vary", ""),                           // 59
        ("via", ""),                            // 60
        ("www-authenticate", ""),               // 61
    ]

    /// The entry at a 1-based static index, or nil outside 1...61.
    static func entry(at index: Int) -> (name: String, value: String)? {
        guard index >= 1, index <= count else { return nil }
        return entries[index - 1]
    }

    /// The index of an entry with exactly this name and value.
    static func index(name: String, value: String) -> Int? {
        indexByNameAndValue[NameAndValue(name: name, value: value)]
    }

    /// The lowest index of an entry with this name, as the RFC's examples use (Appendix C.5.2
    /// encodes `:status: 307` with name index 8).
    static func index(name: String) -> Int? {
        indexByName[name]
    }

    private struct NameAndValue: Hashable {
        var name: String
        var value: String
    }

    private static let indexByNameAndValue: [NameAndValue: Int] = {
        var indices: [NameAndValue: Int] = [:]
        for (offset, entry) in entries.enumerated() {
            indices[NameAndValue(name: entry.name, value: entry.value)] = offset + 1
        }
        return indices
    }()

    private static let indexByName: [String: Int] = {
        var indices: [String: Int] = [:]
        for (offset, entry) in entries.enumerated() where indices[entry.name] == nil {
            indices[entry.name] = offset + 1
        }
        return indices
    }()
}
