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

    static func time(_ t: HLCTimestamp) -> String { t.description }

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
    static func info(_ i: CommitInfo) -> [(String, JSON)] {
        [
            ("id", .string(i.id.hex)), ("repo", .string(i.repository)), ("key", .string(i.key)),
            ("kind", .string(kindName(i.kind))), ("parents", strings(i.parents.map(\.hex))),
            ("timestamp", timestamp(i.timestamp)), ("time", .string(time(i.timestamp))),
            ("author", i.author.map { .string(Hex.encode($0.bytes)) } ?? .null),
        ]
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
