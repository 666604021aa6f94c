import JSONValue

/// Why a kubeconfig is not in the YAML subset we read: the 1-based line and the reason.
public struct KubeconfigYAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String

    public var description: String { "line \(line): \(reason)" }
}

/// The block-style YAML subset that kubectl writes (YAML 1.2): mappings, sequences of
/// `- ` items (also at their key's indentation, as kubectl writes them), plain and
/// quoted single-line scalars, `{}` and `[]`, comments, one document. Everything else
/// (anchors, tags, block scalars, multi-line and flow collections with content) is
/// refused with the line, rather than read wrongly. Plain scalars resolve as the
/// YAML 1.2 core schema does, for the values JSON has: null, booleans, numbers.
enum KubeconfigYAML {
    static func parse(_ text: String) throws(KubeconfigYAMLError) -> JSON {
        var parser = try Parser(lines: lines(of: text))
        guard !parser.lines.isEmpty else { return .null }
        let value = try parser.node(indent: parser.lines[0].indent)
        if parser.index < parser.lines.count {
            throw KubeconfigYAMLError(line: parser.lines[parser.index].number, reason: "unexpected indentation")
        }
        return value
    }

    struct Line {
        var number: Int
        /// Columns of leading spaces.
        var indent: Int
        /// The rest of the line, comments included (a `#` may sit inside quotes).
        var text: Substring
    }

    /// The lines that carry content; blank lines, comment lines and the `---` that may
    /// start the document are dropped.
    static func lines(of text: String) throws(KubeconfigYAMLError) -> [Line] {
        var result: [Line] = []
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            var line = raw
            if line.hasSuffix("\r") { line = line.dropLast() }
            let indent = line.prefix { $0 == " " }.count
            let content = line.dropFirst(indent)
            if content.first == "\t" {
                throw KubeconfigYAMLError(line: number, reason: "a tab in the indentation (YAML indents with spaces)")
            }
            let trimmed = content.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.first == "#" { continue }
            if indent == 0 && (content == "---" || content.hasPrefix("--- ") || content.hasPrefix("---\t")) {
                guard result.isEmpty else { throw KubeconfigYAMLError(line: number, reason: "a second document; a kubeconfig is one") }
                guard stripComment(content.dropFirst(3)).isEmpty else {
                    throw KubeconfigYAMLError(line: number, reason: "content after '---' on the same line is not supported")
                }
                continue
            }
            if indent == 0 && (content == "..." || content.hasPrefix("... ")) { break }
            if indent == 0 && content.first == "%" {
                throw KubeconfigYAMLError(line: number, reason: "YAML directives are not supported")
            }
            result.append(Line(number: number, indent: indent, text: content))
        }
        return result
    }

    struct Parser {
        var lines: [Line]
        var index = 0

        init(lines: [Line]) { self.lines = lines }

        /// The block node whose first line is `lines[index]`, at `indent`.
        mutating func node(indent: Int) throws(KubeconfigYAMLError) -> JSON {
            let line = lines[index]
            if isSequenceItem(line.text) { return try sequence(indent: indent) }
            if try splitKey(line) != nil { return try mapping(indent: indent) }
            index += 1
            return try inlineValue(line.text, line: line.number)
        }

        mutating func mapping(indent: Int) throws(KubeconfigYAMLError) -> JSON {
            var members: [(String, JSON)] = []
            while index < lines.count {
                let line = lines[index]
                if line.indent < indent { break }
                guard line.indent == indent else {
                    throw KubeconfigYAMLError(line: line.number, reason: "unexpected indentation (multi-line scalars are not supported)")
                }
                if isSequenceItem(line.text) {
                    throw KubeconfigYAMLError(line: line.number, reason: "a list item where a mapping key was expected")
                }
                guard let (key, rest) = try splitKey(line) else {
                    throw KubeconfigYAMLError(line: line.number, reason: "expected 'key: value'")
                }
                if members.contains(where: { $0.0 == key }) {
                    throw KubeconfigYAMLError(line: line.number, reason: "duplicate key \"\(key)\"")
                }
                index += 1
                let value: JSON
                if !stripComment(rest).isEmpty {
                    value = try inlineValue(rest, line: line.number)
                } else if index < lines.count, lines[index].indent > indent {
                    value = try node(indent: lines[index].indent)
                } else if index < lines.count, lines[index].indent == indent, isSequenceItem(lines[index].text) {
                    // kubectl's style: a key's list items at the key's own indentation.
                    value = try sequence(indent: indent)
                } else {
                    value = .null
                }
                members.append((key, value))
            }
            return .object(members)
        }

        mutating func sequence(indent: Int) throws(KubeconfigYAMLError) -> JSON {
            var items: [JSON] = []
            while index < lines.count {
                let line = lines[index]
                if line.indent < indent { break }
                guard line.indent == indent else {
                    throw KubeconfigYAMLError(line: line.number, reason: "unexpected indentation (multi-line scalars are not supported)")
                }
                guard isSequenceItem(line.text) else { break }
                let afterDash = line.text.dropFirst()
                let spaces = afterDash.prefix { $0 == " " }.count
                let rest = afterDash.dropFirst(spaces)
                if stripComment(rest).isEmpty {
                    index += 1
                    if index < lines.count, lines[index].indent > indent {
                        items.append(try node(indent: lines[index].indent))
                    } else {
                        items.append(.null)
                    }
                } else {
                    // The item's content is a node that starts at its own column ("- name: x"
                    // begins a mapping whose other keys line up under "name").
                    let column = indent + 1 + spaces
                    lines[index] = Line(number: line.number, indent: column, text: rest)
                    items.append(try node(indent: column))
                }
            }
            return .array(items)
        }
    }

    static func isSequenceItem(_ text: Substring) -> Bool {
        text == "-" || text.hasPrefix("- ")
    }

    /// The key and what follows its `:` when the line is a mapping entry; nil when it is
    /// a scalar.
    static func splitKey(_ line: Line) throws(KubeconfigYAMLError) -> (String, Substring)? {
        let text = line.text
        if text.first == "\"" || text.first == "'" {
            let (key, end) = try quoted(text, line: line.number)
            let after = text[end...].drop { $0 == " " }
            guard after.first == ":" else { return nil }
            let rest = after.dropFirst()
            guard rest.isEmpty || rest.first == " " else { return nil }
            return (key, rest.drop { $0 == " " })
        }
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "#", index > text.startIndex, text[text.index(before: index)] == " " { return nil }
            let next = text.index(after: index)
            if character == ":", next == text.endIndex || text[next] == " " {
                var key = text[..<index]
                while key.last == " " { key = key.dropLast() }
                guard let first = key.first else { throw KubeconfigYAMLError(line: line.number, reason: "an empty key") }
                if "[{&*!|>?@`%".contains(first) {
                    throw KubeconfigYAMLError(line: line.number, reason: "a key starting with '\(first)' is not supported")
                }
                return (String(key), text[next...].drop { $0 == " " })
            }
            index = next
        }
        return nil
    }

    /// A scalar (or `{}` / `[]`) that stands on one line after `key:` or `- `.
    static func inlineValue(_ text: Substring, line: Int) throws(KubeconfigYAMLError) -> JSON {
        guard let first = text.first else { return .null }
        switch first {
        case "\"", "'":
            let (value, end) = try quoted(text, line: line)
            guard stripComment(text[end...]).isEmpty else {
                throw KubeconfigYAMLError(line: line, reason: "unexpected text after a quoted value")
            }
            return .string(value)
        case "{", "[":
            let body = stripComment(text)
            if body == "{}" { return .object([]) }
            if body == "[]" { return .array([]) }
            throw KubeconfigYAMLError(line: line, reason: "flow collections with content are not supported; use block style")
        case "|", ">":
            throw KubeconfigYAMLError(line: line, reason: "block scalars ('\(first)') are not supported; write the value on one line")
        case "&", "*":
            throw KubeconfigYAMLError(line: line, reason: "anchors and aliases are not supported")
        case "!":
            throw KubeconfigYAMLError(line: line, reason: "tags are not supported")
        case "@", "`":
            throw KubeconfigYAMLError(line: line, reason: "'\(first)' cannot start a plain value; quote it")
        default:
            let plain = stripComment(text)
            if plain.contains(": ") || plain.hasSuffix(":") {
                throw KubeconfigYAMLError(line: line, reason: "a ':' in a plain value is ambiguous; quote the value")
            }
            return resolvePlain(plain)
        }
    }

    /// The text before a comment (` #`), without trailing spaces. For plain text only:
    /// a quoted scalar is cut off before this is called.
    static func stripComment(_ text: Substring) -> Substring {
        var end = text.endIndex
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "#" && (index == text.startIndex || text[text.index(before: index)] == " " || text[text.index(before: index)] == "\t") {
                end = index
                break
            }
            index = text.index(after: index)
        }
        var result = text[..<end]
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }

    /// YAML 1.2 core schema (§10.3.2), limited to what JSON can hold: numbers only in
    /// JSON's own notation, so that the text stays a valid JSON number.
    static func resolvePlain(_ text: Substring) -> JSON {
        switch text {
        case "null", "Null", "NULL", "~": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if isJSONNumber(text) { return .number(String(text)) }
        return .string(String(text))
    }

    static func isJSONNumber(_ text: Substring) -> Bool {
        var bytes = Array(text.utf8)[...]
        func digits() -> Int {
            let count = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        if bytes.first == UInt8(ascii: "0") {
            bytes = bytes.dropFirst()
        } else if digits() == 0 {
            return false
        }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            guard digits() > 0 else { return false }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return bytes.isEmpty
    }

    /// A single- or double-quoted scalar that closes on its line: the value and the
    /// index after the closing quote.
    static func quoted(_ text: Substring, line: Int) throws(KubeconfigYAMLError) -> (String, Substring.Index) {
        let quote = text.first!
        var value = ""
        var index = text.index(after: text.startIndex)
        func fail(_ reason: String) -> KubeconfigYAMLError { KubeconfigYAMLError(line: line, reason: reason) }
        while index < text.endIndex {
            let character = text[index]
            index = text.index(after: index)
            if character == quote {
                // '' is a single quote inside a single-quoted scalar (YAML 1.2 §7.3.2).
                if quote == "'", index < text.endIndex, text[index] == "'" {
                    value.append("'")
                    index = text.index(after: index)
                    continue
                }
                return (value, index)
            }
            guard quote == "\"", character == "\\" else {
                value.append(character)
                continue
            }
            guard index < text.endIndex else { break }
            let escape = text[index]
            index = text.index(after: index)
            // YAML 1.2 §5.7 escape sequences.
            switch escape {
            case "0": value.append("\0")
            case "a": value.append("\u{07}")
            case "b": value.append("\u{08}")
            case "t", "\t": value.append("\t")
            case "n": value.append("\n")
            case "v": value.append("\u{0B}")
            case "f": value.append("\u{0C}")
            case "r": value.append("\r")
            case "e": value.append("\u{1B}")
            case " ": value.append(" ")
            case "\"": value.append("\"")
            case "/": value.append("/")
            case "\\": value.append("\\")
            case "N": value.append("\u{85}")
            case "_": value.append("\u{A0}")
            case "L": value.append("\u{2028}")
            case "P": value.append("\u{2029}")
            case "x", "u", "U":
                let count = escape == "x" ? 2 : escape == "u" ? 4 : 8
                guard text.distance(from: index, to: text.endIndex) >= count else { throw fail("incomplete \\\(escape) escape") }
                let end = text.index(index, offsetBy: count)
                guard let code = UInt32(text[index..<end], radix: 16), let scalar = Unicode.Scalar(code) else {
                    throw fail("invalid \\\(escape) escape \"\(text[index..<end])\"")
                }
                value.unicodeScalars.append(scalar)
                index = end
            default:
                throw fail("unknown escape '\\\(escape)' in a double-quoted value")
            }
        }
        throw fail("a quoted value that does not close on its line (multi-line quoted values are not supported)")
    }
}
