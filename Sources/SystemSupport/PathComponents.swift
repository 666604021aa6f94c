extension String {
    /// The part after the last `/` (trailing slashes ignored), as NSString has it.
    public var lastPathComponent: String {
        let trimmed = trimmingTrailingSlashes
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The path without its last component: `/a/b` for `/a/b/c`, `/` for `/a`, and the
    /// empty string for a bare name, as NSString has it.
    public var deletingLastPathComponent: String {
        let trimmed = trimmingTrailingSlashes
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        let parent = String(trimmed[..<slash])
        return parent.isEmpty ? "/" : parent.trimmingTrailingSlashes
    }

    private var trimmingTrailingSlashes: String {
        var result = Substring(self)
        while result.count > 1, result.hasSuffix("/") { result = result.dropLast() }
        return String(result)
    }
}
