/// A field-level difference between two versions of a record.
public struct FieldChange: Hashable, Sendable {
    public enum Kind: String, Sendable {
        case added, removed, changed
    }

    /// Field names from the top level down; nested maps are compared field by field.
    public var path: [String]
    public var kind: Kind
    public var old: Value?
    public var new: Value?
    /// For text fields changed on both sides: the line diff.
    public var lines: [LineEdit]?
    /// For sets: the elements added and removed.
    public var setAdded: [Value]?
    public var setRemoved: [Value]?

    public var pathString: String { path.joined(separator: ".") }
}

package enum DocumentDiff {
    /// Changes from `old` to `new`; nil stands for "no record" (before creation or after deletion).
    package static func diff(_ old: Document?, _ new: Document?) -> [FieldChange] {
        var out: [FieldChange] = []
        diff(old ?? Document(), new ?? Document(), path: [], into: &out)
        return out
    }

    private static func diff(_ old: Document, _ new: Document, path: [String], into out: inout [FieldChange]) {
        // Both field lists are sorted by UTF-8 bytes: merge-walk them.
        var i = 0, j = 0
        let a = old.fields, b = new.fields
        while i < a.count || j < b.count {
            let c = i == a.count ? 1 : j == b.count ? -1 : Document.compare(a[i].name, b[j].name)
            if c < 0 {
                out.append(FieldChange(path: path + [a[i].name], kind: .removed, old: a[i].value, new: nil))
                i += 1
            } else if c > 0 {
                out.append(FieldChange(path: path + [b[j].name], kind: .added, old: nil, new: b[j].value))
                j += 1
            } else {
                if a[i].value != b[j].value {
                    change(a[i].value, b[j].value, path: path + [a[i].name], into: &out)
                }
                i += 1
                j += 1
            }
        }
    }

    private static func change(_ old: Value, _ new: Value, path: [String], into out: inout [FieldChange]) {
        var c = FieldChange(path: path, kind: .changed, old: old, new: new)
        switch (old, new) {
        case (.map(let x), .map(let y)):
            diff(x, y, path: path, into: &out)
            return
        case (.text(let x), .text(let y)):
            c.lines = LineDiff.diff(x, y)
        case (.set(let x), .set(let y)):
            let xs = Set(x.elements), ys = Set(y.elements)
            c.setAdded = y.elements.filter { !xs.contains($0) }
            c.setRemoved = x.elements.filter { !ys.contains($0) }
        default: break
        }
        out.append(c)
    }

    /// A one-line summary such as "+title ~done -notes", for logs.
    package static func summary(_ changes: [FieldChange]) -> String {
        if changes.isEmpty { return "no field changes" }
        return changes.map { c in
            switch c.kind {
            case .added: "+" + c.pathString
            case .removed: "-" + c.pathString
            case .changed: "~" + c.pathString
            }
        }.joined(separator: " ")
    }
}
