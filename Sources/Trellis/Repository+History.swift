import TrellisCore
import TrellisStorage

/// A revision resolved against a repository: the instant it stands for, and the commit when it
/// named one (docs/history.md §Revisions).
public struct HistoryPoint: Sendable, Hashable {
    /// Commits with a timestamp at or before this are in the repository as of this point.
    public let bound: HLCTimestamp
    /// The commit the revision named (an id, a prefix or `KEY~N`); nil for a time.
    public let commit: CommitInfo?

    /// Whether a commit is in the repository as of this point: at or before the time, or for a
    /// commit, that commit and every commit before it in log order (`CommitInfo.newerFirst`),
    /// which counts a merge written after it at the same timestamp as later.
    public func includes(_ c: CommitInfo) -> Bool {
        if let commit { return c.id == commit.id || !CommitInfo.newerFirst(c, commit) }
        return c.timestamp <= bound
    }
}

/// Which commits `Repository.log(_:)` returns.
public struct LogQuery: Sendable {
    /// Only this record's commits; nil for the whole repository.
    public var key: String?
    /// Only commits after this point (exclusive), and at or before `until` (inclusive).
    public var since: Revision?
    public var until: Revision?
    /// Only commits whose author this accepts (merge commits have no author).
    public var author: (@Sendable (PublicKey) -> Bool)?
    /// Only commits that changed this field path, or a path inside it, against their newest parent.
    public var field: [String]?
    /// At most this many commits, the newest.
    public var limit: Int?

    public init(key: String? = nil, since: Revision? = nil, until: Revision? = nil, author: (@Sendable (PublicKey) -> Bool)? = nil,
                field: [String]? = nil, limit: Int? = nil) {
        (self.key, self.since, self.until, self.author, self.field, self.limit) = (key, since, until, author, field, limit)
    }
}

/// One record that differs between two points of a repository.
public struct RecordChange: Sendable {
    public enum Kind: String, Sendable { case added, changed, deleted }
    public let key: String
    public let kind: Kind
    /// The record's heads at each point (empty where it did not exist yet).
    public let fromHeads: [CommitID]
    public let toHeads: [CommitID]
    public let changes: [FieldChange]
}

/// Who last set one part of a record.
public struct BlameEntry: Sendable {
    /// The leaf field path.
    public let path: [String]
    /// The line number, from 1, for a line of a text field; nil for a whole value.
    public let line: Int?
    /// The value, or for a line its text (with its newline).
    public let value: Value
    public let commit: CommitInfo

    public var pathString: String { path.joined(separator: ".") }
}

/// A commit with what it changed: against its newest parent, and for a merge, what each side
/// brought since their common ancestor and the conflicts the merge rules resolved.
public struct CommitDetail: Sendable {
    public let commit: CommitInfo
    /// The parent the changes are against: the newest one; nil for a first version.
    public let parent: CommitID?
    public let changes: [FieldChange]
    /// For a merge, one entry per parent, oldest first: its changes since the merge base.
    public let sides: [(parent: CommitInfo, changes: [FieldChange])]
    public let conflicts: [MergeConflict]
}

extension Repository {
    private func reader() -> HistoryReader { HistoryReader(name, engine: store.engine) }

    // MARK: Revisions

    /// What a revision stands for in this repository.
    public func point(_ revision: Revision) throws(TrellisError) -> HistoryPoint {
        try point(revision, reader())
    }

    func point(_ revision: Revision, _ r: HistoryReader) throws(TrellisError) -> HistoryPoint {
        switch revision {
        case .time(let ms):
            return HistoryPoint(bound: HLCTimestamp(wallMillis: UInt64(max(0, ms)), logical: .max), commit: nil)
        case .commit(let text):
            let id: CommitID
            do {
                id = try store.engine.resolve(text)
            } catch where error.code == .notFound {
                guard let ms = Revision.relative(text, now: Int64(clamping: FileSystem.nowMillis())) else { throw error }
                return try point(.time(ms), r)
            }
            let info = try r.info(id)
            return HistoryPoint(bound: info.timestamp, commit: info)
        case .ancestor(let base, let steps):
            var c: CommitInfo
            if let heads = try? store.engine.heads(name, base), let newest = heads.first {
                c = newest
            } else if base.utf8.count >= 4, base.allSatisfy(\.isHexDigit), let id = try? store.engine.resolve(base) {
                c = try r.info(id)
            } else {
                throw TrellisError(.notFound,
                    "unknown revision '\(base)': not a record of repository '\(name)', a commit id or a time (2026-11-30, yesterday, 2h)")
            }
            for step in 0..<steps {
                guard let parent = try r.newestParent(of: c) else {
                    throw TrellisError(.notFound, "'\(base)~\(steps)' goes past the first version: it has only \(step) before")
                }
                c = parent
            }
            return HistoryPoint(bound: c.timestamp, commit: c)
        }
    }

    // MARK: As of

    /// The record as of a revision: the version a commit of this record names, or else the
    /// record as it stood at that instant (several heads then merge in memory). nil when it did
    /// not exist yet or was deleted.
    public func get(_ key: String, asOf revision: Revision) throws(TrellisError) -> Document? {
        let r = reader()
        let heads = try store.engine.heads(name, key)
        let p = try point(revision, r)
        if let c = p.commit, c.repository == name, c.key == key { return try r.document(c.id) }
        return try r.document(ofHeads: try r.heads(of: heads, asOf: p), key: key)
    }

    /// Every record that existed at a revision, with its document then, in key byte order.
    public func snapshot(asOf revision: Revision) throws(TrellisError) -> [(key: String, document: Document)] {
        let r = reader()
        let p = try point(revision, r)
        var out: [(key: String, document: Document)] = []
        for (key, heads) in try headsByKey(r) {
            if let d = try r.document(ofHeads: try r.heads(of: heads, asOf: p), key: key) { out.append((key, d)) }
        }
        return out
    }

    /// Records that still have several heads (concurrent edits whose merge commit is not yet
    /// written), in key byte order, each with its heads newest first.
    public func recordsWithSeveralHeads() throws(TrellisError) -> [(key: String, heads: [CommitInfo])] {
        try headsByKey(reader()).filter { $0.1.count > 1 }.map { (key: $0.0, heads: $0.1) }
    }

    /// Today's heads of every record, grouped by key in byte order.
    private func headsByKey(_ r: HistoryReader) throws(TrellisError) -> [(String, [CommitInfo])] {
        grouped(try allHeads(r))
    }

    /// Heads grouped by key in byte order, each key's newest first.
    private func grouped(_ heads: [CommitInfo]) -> [(String, [CommitInfo])] {
        Dictionary(grouping: heads, by: \.key).sorted { Document.compare($0.key, $1.key) < 0 }
            .map { ($0.key, $0.value.sorted(by: CommitInfo.newerFirst)) }
    }

    /// Today's heads of every record, in no order.
    private func allHeads(_ r: HistoryReader) throws(TrellisError) -> [CommitInfo] {
        do { return try store.engine.allHeads(name) } catch where error.code == .notFound { return [] }
    }

    // MARK: Log

    /// Commits newest first (by hybrid logical clock, then generation, then id), filtered as the
    /// query asks. The walk starts at the heads and stops at `since` or the limit, so it reads
    /// what it returns and what is newer than `until`, not the whole history.
    public func log(_ query: LogQuery) throws(TrellisError) -> [CommitInfo] {
        let r = reader()
        let starts: [CommitInfo]
        if let key = query.key { starts = try store.engine.heads(name, key) } else { starts = try allHeads(r) }
        let since = try query.since.map { rev throws(TrellisError) in try point(rev, r) }
        let until = try query.until.map { rev throws(TrellisError) in try point(rev, r) }
        var out: [CommitInfo] = []
        if query.limit == 0 { return out }
        try r.walkNewestFirst(from: starts) { c throws(TrellisError) in
            if let since, since.includes(c) { return false }
            if let until, !until.includes(c) { return true }
            if let accepts = query.author, !(c.author.map(accepts) ?? false) { return true }
            if let field = query.field, !(try changes(c, r).contains { touches($0.path, field) }) { return true }
            out.append(c)
            return query.limit.map { out.count < $0 } ?? true
        }
        return out
    }

    /// What a commit changed against its newest parent.
    func changes(_ c: CommitInfo, _ r: HistoryReader) throws(TrellisError) -> [FieldChange] {
        let old = try r.newestParent(of: c).map { p throws(TrellisError) in try r.document(p.id) } ?? nil
        return DocumentDiff.diff(old, try r.document(c.id))
    }

    private func touches(_ path: [String], _ field: [String]) -> Bool {
        path.starts(with: field) || field.starts(with: path)
    }

    // MARK: Diff

    /// Every record added, changed or deleted between two points (`to` nil: now), with field
    /// diffs, in key byte order. A record whose heads are all as old as `from` is unchanged and
    /// costs one look at its heads; only the others are grouped, sorted and read.
    public func diff(from: Revision, to: Revision? = nil) throws(TrellisError) -> [RecordChange] {
        let r = reader()
        let fromPoint = try point(from, r)
        let toPoint = try to.map { rev throws(TrellisError) in try point(rev, r) }
        let all = try allHeads(r)
        let touched = Set(all.lazy.filter { !fromPoint.includes($0) }.map(\.key))
        var out: [RecordChange] = []
        for (key, heads) in grouped(all.filter { touched.contains($0.key) }) {
            let after = if let toPoint { try r.heads(of: heads, asOf: toPoint) } else { heads }
            let before = try r.heads(of: after, asOf: fromPoint)
            guard before.map(\.id) != after.map(\.id) else { continue }
            let old = try r.document(ofHeads: before, key: key), new = try r.document(ofHeads: after, key: key)
            guard old != new else { continue }
            let kind: RecordChange.Kind = old == nil ? .added : new == nil ? .deleted : .changed
            out.append(RecordChange(key: key, kind: kind, fromHeads: before.map(\.id), toHeads: after.map(\.id),
                                    changes: DocumentDiff.diff(old, new)))
        }
        return out
    }

    // MARK: Show

    /// A commit of this repository and what it changed.
    public func show(_ id: CommitID) throws(TrellisError) -> CommitDetail {
        let r = reader()
        let c = try r.info(id)
        guard c.repository == name else { throw TrellisError(.notFound, "commit \(id.short) is not in repository '\(name)'") }
        let parent = try r.newestParent(of: c)
        let changes = try changes(c, r)
        guard c.kind.isMerge else { return CommitDetail(commit: c, parent: parent?.id, changes: changes, sides: [], conflicts: []) }
        var parents: [CommitInfo] = []
        for p in c.parents { parents.append(try r.info(p)) }
        parents.sort { CommitInfo.newerFirst($1, $0) }
        var sides: [(parent: CommitInfo, changes: [FieldChange])] = []
        for p in parents {
            let others = parents.filter { $0.id != p.id }.map(\.id)
            let base = try HeadMerge.baseDocument([p.id], others, source: r)
            sides.append((p, DocumentDiff.diff(base, try r.document(p.id))))
        }
        let conflicts = try HeadMerge.mergeCommit(repository: name, key: c.key, heads: c.parents, source: r).conflicts
        return CommitDetail(commit: c, parent: parent?.id, changes: changes, sides: sides, conflicts: conflicts)
    }

    // MARK: Blame

    /// For each leaf field path of the record's current document (under `field` when given),
    /// and each line of a text field, the commit that last set it, following a merge to the
    /// parent whose value won. Several heads are blamed as their in-memory merge.
    public func blame(_ key: String, field: [String]? = nil) throws(TrellisError) -> [BlameEntry] {
        let r = reader()
        let heads = try store.engine.heads(name, key)
        // Oldest first: every commit after its parents.
        var order: [CommitInfo] = []
        try r.walkNewestFirst(from: heads) { c in order.append(c); return true }
        var owners: [CommitID: Blame.Owners] = [:]
        for c in order.reversed() {
            var parents: [(document: Document?, owners: Blame.Owners)] = []
            for p in try sortedParents(c, r) { parents.append((try r.document(p.id), owners[p.id] ?? Blame.Owners())) }
            owners[c.id] = Blame.owners(of: c.id, document: try r.document(c.id), parents: parents)
        }
        let top: (id: CommitID, document: Document?, owners: Blame.Owners)
        if heads.count == 1 {
            top = (heads[0].id, try r.document(heads[0].id), owners[heads[0].id] ?? Blame.Owners())
        } else {
            // The in-memory merge: its own changes (a counter's sum, merged text) blame the newest head.
            let merged = try HeadMerge.mergeCommit(repository: name, key: key, heads: heads.map(\.id), source: r).commit.document
            var parents: [(document: Document?, owners: Blame.Owners)] = []
            for h in heads { parents.append((try r.document(h.id), owners[h.id] ?? Blame.Owners())) }
            top = (heads[0].id, merged, Blame.owners(of: heads[0].id, document: merged, parents: parents))
        }
        guard let document = top.document else {
            throw TrellisError(.notFound, "'\(key)' in repository '\(name)' is deleted: nothing to blame")
        }
        var out: [BlameEntry] = []
        for (path, value) in Blame.leaves(document) where field.map({ path.starts(with: $0) }) ?? true {
            switch top.owners.fields[path] {
            case .lines(let ids)?:
                guard case .text(let text) = value else { continue }
                for (n, (line, id)) in zip(LineDiff.lines(text), ids).enumerated() {
                    out.append(BlameEntry(path: path, line: n + 1, value: .string(String(line)), commit: try r.info(id)))
                }
            case .value(let id)?:
                out.append(BlameEntry(path: path, line: nil, value: value, commit: try r.info(id)))
            case nil:
                continue
            }
        }
        if let field, out.isEmpty {
            throw TrellisError(.notFound, "'\(key)' has no field '\(field.joined(separator: "."))'")
        }
        return out
    }

    /// A commit's parents, newest first: the order blame prefers them in when values tie.
    private func sortedParents(_ c: CommitInfo, _ r: HistoryReader) throws(TrellisError) -> [CommitInfo] {
        var ps: [CommitInfo] = []
        for p in c.parents { ps.append(try r.info(p)) }
        return ps.sorted(by: CommitInfo.newerFirst)
    }
}

extension Repository {
    /// A record's diff between two revisions (docs/history.md §Revisions): a commit of this
    /// record is that version; any other revision is the record as it stood then. `from` nil:
    /// the newest parent of `to`; `to` nil: the current newest head.
    public func diff(_ key: String, from: Revision?, to: Revision?) throws(TrellisError) -> RecordDiff {
        let r = HistoryReader(name, engine: store.engine)
        let heads = try store.engine.heads(name, key)
        func version(_ rev: Revision) throws(TrellisError) -> (id: CommitID?, document: Document?) {
            let p = try point(rev, r)
            if let c = p.commit, c.repository == name, c.key == key { return (c.id, try r.document(c.id)) }
            let then = try r.heads(of: heads, asOf: p)
            return (then.first?.id, try r.document(ofHeads: then, key: key))
        }
        let new: (id: CommitID?, document: Document?)
        if let to { new = try version(to) } else { new = (heads[0].id, try r.document(heads[0].id)) }
        guard let toID = new.id else { throw TrellisError(.notFound, "'\(key)' did not exist yet at that revision") }
        let old: (id: CommitID?, document: Document?)
        if let from {
            old = try version(from)
        } else if let p = try r.newestParent(of: try r.info(toID)) {
            old = (p.id, try r.document(p.id))
        } else {
            old = (nil, nil)
        }
        return RecordDiff(from: old.id, to: toID, changes: DocumentDiff.diff(old.document, new.document))
    }
}
