/// Who last set each part of a record: every leaf field path, and every line of a text field
/// (docs/history.md §Blame). Computed oldest version first, each version from its parents'
/// answers, so a record's whole history costs one document comparison per parent link.
package enum Blame {
    /// The owners of one version: for each leaf path, the commit that last set its value, and
    /// for a text field, the commit that last set each line.
    package struct Owners: Sendable {
        package var fields: [[String]: Field] = [:]

        package init() {}

        package enum Field: Sendable, Equatable {
            case value(CommitID)
            case lines([CommitID])
        }
    }

    /// A version as blame reads it: the commit, its document (nil for a tombstone) and its
    /// parents' owners in the order to prefer them.
    package static func owners(of id: CommitID, document: Document?, parents: [(document: Document?, owners: Owners)]) -> Owners {
        var out = Owners()
        guard let document else { return out }
        for (path, value) in leaves(document) {
            // The parents whose value equals this one come first: a merge's winning side.
            let ordered = parents.filter { leaf(path, in: $0.document) == value }
                + parents.filter { leaf(path, in: $0.document) != value }
            if case .text(let text) = value {
                out.fields[path] = .lines(lineOwners(text, path: path, id: id, parents: ordered))
                continue
            }
            var owner = id
            if let same = ordered.first, leaf(path, in: same.document) == value, case .value(let o)? = same.owners.fields[path] {
                owner = o
            }
            out.fields[path] = .value(owner)
        }
        return out
    }

    /// Each line of `text` belongs to the first parent (in `parents` order) that had the same
    /// line in the same place by line diff, and otherwise to `id`.
    private static func lineOwners(_ text: String, path: [String], id: CommitID,
                                   parents: [(document: Document?, owners: Owners)]) -> [CommitID] {
        let lines = LineDiff.lines(text)
        var owners = [CommitID?](repeating: nil, count: lines.count)
        for parent in parents {
            guard case .text(let old)? = leaf(path, in: parent.document) else { continue }
            let oldOwners: [CommitID]
            switch parent.owners.fields[path] {
            case .lines(let ls)?: oldOwners = ls
            case .value(let o)?: oldOwners = Array(repeating: o, count: LineDiff.lines(old).count)
            case nil: continue
            }
            let oldLines = LineDiff.lines(old)
            for step in LineDiff.script(oldLines, lines) {
                if case .same(let i, let j) = step, owners[j] == nil, i < oldOwners.count { owners[j] = oldOwners[i] }
            }
            if !owners.contains(nil) { break }
        }
        return owners.map { $0 ?? id }
    }

    /// Every leaf of a document by path: values that are not maps, and empty maps.
    package static func leaves(_ document: Document) -> [([String], Value)] {
        var out: [([String], Value)] = []
        func walk(_ d: Document, _ prefix: [String]) {
            for f in d.fields {
                if case .map(let inner) = f.value, !inner.isEmpty {
                    walk(inner, prefix + [f.name])
                } else {
                    out.append((prefix + [f.name], f.value))
                }
            }
        }
        walk(document, [])
        return out
    }

    /// The value at a leaf path, nil when absent (or when the path runs through a non-map).
    package static func leaf(_ path: [String], in document: Document?) -> Value? {
        guard var doc = document else { return nil }
        for name in path.dropLast() {
            guard case .map(let inner)? = doc[name] else { return nil }
            doc = inner
        }
        return path.last.flatMap { doc[$0] }
    }
}
