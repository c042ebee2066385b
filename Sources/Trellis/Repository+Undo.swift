import TrellisCore
import TrellisStorage

/// How `Repository.resolve(_:path:_:)` settles a field that a merge resolved.
public enum Resolution: Sendable, Hashable {
    /// The older side's value in the newest merge that resolved a conflict at the path.
    case ours
    /// The newer side's value there.
    case theirs
    /// This value; nil removes the field.
    case value(Value?)
}

/// A commit written to undo or settle something, and the conflicts met on the way.
public struct UndoResult: Sendable {
    public let commit: CommitInfo
    /// For a revert: where a later edit changed what the reverted commit changed, and kept it.
    public let conflicts: [MergeConflict]
}

extension Repository {
    /// Writes a commit that undoes what commit `id` changed (against its newest parent), on top
    /// of the record's current heads, by a three-way merge: base the reverted version, one side
    /// the current document, the other its parent's. Later edits to other fields stay; a field
    /// edited again since keeps the later edit and is reported as a conflict (docs/history.md
    /// §Revert). Reverting a record's first version deletes it; reverting a deletion restores it.
    @discardableResult
    public func revert(_ id: CommitID) throws(TrellisError) -> UndoResult {
        let r = HistoryReader(name, engine: store.engine)
        let c = try r.info(id)
        guard c.repository == name else { throw TrellisError(.notFound, "commit \(id.short) is not in repository '\(name)'") }
        let heads = try store.engine.heads(name, c.key)
        let current = try r.document(ofHeads: heads, key: c.key)
        let parent = try r.newestParent(of: c)
        let undone = try parent.map { p throws(TrellisError) in try r.document(p.id) } ?? nil
        // The current side is the newer, so a field edited again since keeps that edit.
        let now = MergeSide(document: current, timestamp: heads[0].timestamp, id: heads[0].id)
        let before = MergeSide(document: undone, timestamp: .zero, id: id)
        let result = DocumentMerge.merge(base: try r.document(id), now, before)
        // Refused when no field that the commit changed still holds the value it set (it was
        // reverted already, or every field was changed again since).
        let reverted = try r.document(id)
        let present = DocumentDiff.diff(undone, reverted).contains { change in
            current?[path: change.path] == reverted?[path: change.path] && current != nil || (reverted == nil && current == nil)
        }
        guard result.document != current, present else {
            throw TrellisError(.invalidArgument, "nothing to revert: the changes of \(id.short) are not in '\(c.key)' any more")
        }
        let change: WriteRequest.Change = result.document.map { .put($0) } ?? .delete
        let written = try store.engine.write([WriteRequest(repository: name, key: c.key, change: change, parents: heads.map(\.id))])
        return UndoResult(commit: written[0], conflicts: result.conflicts)
    }

    /// Overrides how a merge resolved a field: writes a new version of the record, on top of its
    /// current heads, with the field at `path` set to the chosen value.
    @discardableResult
    public func resolve(_ key: String, path: [String], _ choice: Resolution) throws(TrellisError) -> UndoResult {
        // Several heads: write their merge first, so the conflict it resolves stays on record.
        if try store.engine.heads(name, key).count > 1 { try merge(key) }
        let heads = try store.engine.heads(name, key)
        let value: Value?
        switch choice {
        case .value(let v):
            value = v
        case .ours, .theirs:
            let resolved = try conflicts(key).flatMap(\.conflicts)
            guard let conflict = resolved.first(where: { $0.path == path }) else {
                throw TrellisError(.notFound, "no merge of '\(key)' resolved a conflict at '\(path.joined(separator: "."))': give --value JSON")
            }
            value = choice == .ours ? conflict.ours : conflict.theirs
        }
        let r = HistoryReader(name, engine: store.engine)
        var document = try r.document(ofHeads: heads, key: key) ?? Document()
        let before = document
        if path.isEmpty {
            guard case .map(let whole)? = value else { throw TrellisError(.invalidArgument, "the whole record resolves only to an object") }
            document = whole
        } else {
            try document.set(path: path, to: value)
        }
        try document.validate()
        guard document != before || heads.count > 1 else {
            throw TrellisError(.invalidArgument, "'\(key)' already has that value at '\(path.joined(separator: "."))': nothing written")
        }
        let written = try store.engine.write([WriteRequest(repository: name, key: key, change: .put(document), parents: heads.map(\.id))])
        return UndoResult(commit: written[0], conflicts: [])
    }

    /// The conflicts that merging a record's heads would resolve now (empty with one head).
    public func pendingConflicts(_ key: String) throws(TrellisError) -> [MergeConflict] {
        let heads = try store.engine.heads(name, key)
        guard heads.count > 1 else { return [] }
        let r = HistoryReader(name, engine: store.engine)
        return try HeadMerge.mergeCommit(repository: name, key: key, heads: heads.map(\.id), source: r).conflicts
    }
}
