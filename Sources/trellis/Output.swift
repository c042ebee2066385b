import Foundation
import Trellis
import TrellisCore

enum Output {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("trellis: error: \(message)\n".utf8))
    }

    static func warn(_ messages: [String]) {
        for m in messages { FileHandle.standardError.write(Data("trellis: warning: \(m)\n".utf8)) }
    }

    static func json(_ value: JSON, pretty: Bool = false) {
        print(JSONWriter.write(value, pretty: pretty))
    }

    static func strings(_ list: [String]) -> JSON { .array(list.map(JSON.string)) }

    /// The wall-clock part of a timestamp in ISO 8601 (UTC, milliseconds); the logical counter,
    /// which orders commits made in the same millisecond, is given separately where it matters.
    static func time(_ t: HLCTimestamp) -> String { ISO8601.format(millis: Int64(clamping: t.wallMillis)) }

    static func timestamp(_ t: HLCTimestamp) -> JSON {
        .object([("wall_ms", .int(Int64(clamping: t.wallMillis))), ("logical", .int(Int64(t.logical)))])
    }

    static func kindName(_ k: Commit.Kind) -> String {
        switch k {
        case .put: "put"
        case .delete: "delete"
        case .merge: "merge"
        case .mergeDelete: "merge-delete"
        }
    }

    /// The metadata of a commit as JSON, shared by `log --json`, `heads --json` and `cat --json`.
    static func info(_ i: CommitInfo, names: DisplayNames? = nil) -> [(String, JSON)] {
        var members: [(String, JSON)] = [
            ("id", .string(i.id.hex)), ("repo", .string(i.repository)), ("key", .string(i.key)),
            ("kind", .string(kindName(i.kind))), ("parents", strings(i.parents.map(\.hex))),
            ("timestamp", timestamp(i.timestamp)), ("time", .string(time(i.timestamp))),
            ("logical", .int(Int64(i.timestamp.logical))),
            ("author", i.author.map { .string(Hex.encode($0.bytes)) } ?? .null),
        ]
        if let names { members.append(("author_name", names.name(i.author).map(JSON.string) ?? .null)) }
        return members
    }

    /// "deleted", "merge of 2 heads: ~title" or the fields changed, for one-line views.
    static func summary(_ c: CommitInfo, _ changes: [FieldChange]) -> String {
        var summary = c.kind.deletes ? "deleted" : DocumentDiff.summary(changes)
        if c.kind.isMerge { summary = "merge of \(c.parents.count) heads: " + summary }
        return summary
    }

    static func stat(_ changes: [FieldChange]) -> JSON {
        let count = { (k: FieldChange.Kind) in Int64(changes.filter { $0.kind == k }.count) }
        return .object([("added", .int(count(.added))), ("changed", .int(count(.changed))), ("removed", .int(count(.removed)))])
    }

    /// One line per field changed and a total, as git's --stat.
    static func statLines(_ changes: [FieldChange], _ out: Printer) -> [String] {
        let width = changes.map(\.pathString.count).max() ?? 0
        var lines = changes.map { c in
            let mark = switch c.kind {
            case .added: out.paint("+", .green)
            case .removed: out.paint("-", .red)
            case .changed: out.paint("~", .cyan)
            }
            return " " + c.pathString.padding(toLength: width, withPad: " ", startingAt: 0) + " | " + mark
        }
        let counts = [FieldChange.Kind.added, .changed, .removed].map { k in changes.filter { $0.kind == k }.count }
        lines.append(" \(changes.count) field\(changes.count == 1 ? "" : "s") changed: \(counts[0]) added, \(counts[1]) changed, \(counts[2]) removed")
        return lines
    }

    /// `describe` with colour: added lines green, removed red.
    static func describe(_ c: FieldChange, _ out: Printer) -> String {
        let text = describe(c)
        guard out.colors else { return text }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let trimmed = line.drop(while: { $0 == " " })
            if trimmed.hasPrefix("+") { return out.paint(String(line), .green) }
            if trimmed.hasPrefix("-") { return out.paint(String(line), .red) }
            if trimmed.hasPrefix("~") { return out.paint(String(line), .cyan) }
            return String(line)
        }.joined(separator: "\n")
    }

    static func change(_ c: FieldChange) -> JSON {
        var members: [(String, JSON)] = [("path", strings(c.path)), ("field", .string(c.pathString)), ("op", .string(c.kind.rawValue))]
        if let old = c.old { members.append(("old", ValueJSON.json(old))) }
        if let new = c.new { members.append(("new", ValueJSON.json(new))) }
        if let lines = c.lines {
            members.append(("lines", .array(lines.map { edit in
                switch edit {
                case .same(let s): .object([("op", .string(" ")), ("text", .string(s))])
                case .removed(let s): .object([("op", .string("-")), ("text", .string(s))])
                case .added(let s): .object([("op", .string("+")), ("text", .string(s))])
                }
            })))
        }
        if let added = c.setAdded { members.append(("added", .array(added.map(ValueJSON.json)))) }
        if let removed = c.setRemoved { members.append(("removed", .array(removed.map(ValueJSON.json)))) }
        return .object(members)
    }

    static func optional(_ v: Value?) -> JSON { v.map(ValueJSON.json) ?? .null }

    static func conflict(_ c: MergeConflict) -> JSON {
        .object([
            ("path", strings(c.path)), ("field", .string(c.pathString)), ("rule", .string(c.rule.rawValue)),
            ("base", optional(c.base)), ("ours", optional(c.ours)), ("theirs", optional(c.theirs)), ("winner", optional(c.winner)),
        ])
    }

    /// Human form of a field change, with a line diff for text.
    static func describe(_ c: FieldChange) -> String {
        let v = { (x: Value?) in x.map { ValueJSON.text($0) } ?? "" }
        switch c.kind {
        case .added: return "+ \(c.pathString): \(v(c.new))"
        case .removed: return "- \(c.pathString): \(v(c.old))"
        case .changed:
            if let lines = c.lines {
                var out = "~ \(c.pathString) (text):"
                for edit in lines {
                    switch edit {
                    case .same(let s): out += "\n      " + strip(s)
                    case .removed(let s): out += "\n    - " + strip(s)
                    case .added(let s): out += "\n    + " + strip(s)
                    }
                }
                return out
            }
            if let added = c.setAdded, let removed = c.setRemoved {
                let parts = added.map { "+" + ValueJSON.text($0) } + removed.map { "-" + ValueJSON.text($0) }
                return "~ \(c.pathString) (set): " + parts.joined(separator: " ")
            }
            return "~ \(c.pathString): \(v(c.old)) -> \(v(c.new))"
        }
    }

    private static func strip(_ line: String) -> String {
        line.hasSuffix("\n") ? String(line.dropLast()) : line + "  (no newline at end)"
    }
}
