import TrellisCore
import TrellisStorage

/// The difference between two versions of a record.
public struct RecordDiff: Sendable {
    /// nil when `to` created the record.
    public let from: CommitID?
    public let to: CommitID
    public let changes: [FieldChange]
}

/// One repository of a store: records under string keys, each with its full history.
public struct Repository: Sendable {
    public let name: String
    public let store: Store

    private var engine: any RecordStore { store.engine }

    // MARK: Writing

    /// Stores `document` as the record's new version and returns the commit id once it is durable.
    /// `parents` builds on those commits instead of the current head (replaying a concurrent edit).
    @discardableResult
    public func put(_ key: String, _ document: Document, parents: [CommitID]? = nil) throws(TrellisError) -> CommitID {
        try write(WriteRequest(repository: name, key: key, change: .put(document), parents: parents))
    }

    /// Stores a Codable value as the record's new version.
    @discardableResult
    public func put(_ key: String, value: some Encodable, parents: [CommitID]? = nil) throws(TrellisError) -> CommitID {
        try put(key, try ValueEncoder.document(value), parents: parents)
    }

    /// Changes some fields of the current version (an empty document if there is none), atomically
    /// with respect to other writers.
    @discardableResult
    public func update(_ key: String, parents: [CommitID]? = nil,
                       _ change: @escaping @Sendable (inout Document) throws(TrellisError) -> Void) throws(TrellisError) -> CommitID {
        try write(WriteRequest(repository: name, key: key, change: .update { current throws(TrellisError) in
            var doc = current ?? Document()
            try change(&doc)
            return doc
        }, parents: parents))
    }

    /// `update`, except that a change leaving the current document as it is writes nothing and
    /// returns nil (with several heads, "current" is their merge).
    @discardableResult
    public func edit(_ key: String, _ change: @escaping @Sendable (inout Document) throws(TrellisError) -> Void) throws(TrellisError) -> CommitID? {
        do {
            return try write(WriteRequest(repository: name, key: key, change: .update { current throws(TrellisError) in
                var doc = current ?? Document()
                try change(&doc)
                guard doc != current else { throw TrellisError(.unchanged, "'\(key)' already holds that document") }
                return doc
            }))
        } catch where error.code == .unchanged {
            return nil
        }
    }

    /// Deletes the record by writing a tombstone; its history stays readable.
    @discardableResult
    public func delete(_ key: String) throws(TrellisError) -> CommitID {
        try write(WriteRequest(repository: name, key: key, change: .delete))
    }

    private func write(_ request: WriteRequest) throws(TrellisError) -> CommitID {
        // safe: write returns one result per request or throws.
        try engine.write([request])[0].id
    }

    // MARK: Reading

    /// The record's current document; nil when it does not exist or is deleted. Several heads
    /// (concurrent edits) are merged in memory, deterministically, and nothing is written: the
    /// merge commit is written by the next write to the record, or by `merge(_:)`.
    public func get(_ key: String) throws(TrellisError) -> Document? {
        do {
            return try engine.merged(name, key)
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// Writes the merge commit of the record's heads now, if it has several, and returns the single head.
    @discardableResult
    public func merge(_ key: String) throws(TrellisError) -> CommitInfo { try engine.mergeHeads(name, key) }

    /// Writes a merge commit for every record of the repository with several heads, in one
    /// durable batch; returns the merge commits.
    @discardableResult
    public func mergeAll() throws(TrellisError) -> [CommitInfo] { try engine.mergeAllHeads(name) }

    /// Conflicts resolved by merges, newest merge first: of one record, or of the repository.
    public func conflicts(_ key: String? = nil) throws(TrellisError) -> [ResolvedMerge] {
        try engine.conflicts(name, key: key)
    }

    /// The record decoded as `T`; nil when it does not exist or is deleted.
    public func get<T: Decodable>(_ key: String, as type: T.Type) throws(TrellisError) -> T? {
        guard let doc = try get(key) else { return nil }
        return try ValueDecoder.decode(type, from: doc)
    }

    /// The document as of a commit of this repository (nil for a tombstone).
    public func document(at id: CommitID) throws(TrellisError) -> Document? {
        let c = try engine.commit(id)
        guard c.commit.repository == name else {
            throw TrellisError(.notFound, "commit \(id.short) is not in repository '\(name)'")
        }
        return c.commit.document
    }

    /// The record's document as of one of its commits (nil for a tombstone).
    public func get(_ key: String, at id: CommitID) throws(TrellisError) -> Document? {
        try document(at: try version(id, of: key).id)
    }

    /// Live keys (not deleted), in byte order. Empty for a repository never written.
    public func keys() throws(TrellisError) -> [String] {
        do { return try engine.keys(in: name) } catch where error.code == .notFound { return [] }
    }

    /// The record's heads, newest first: more than one after concurrent edits.
    public func heads(_ key: String) throws(TrellisError) -> [CommitInfo] { try engine.heads(name, key) }

    /// Commits newest first, of one record or (key nil) of the whole repository; at most
    /// `limit` of them.
    public func history(_ key: String? = nil, limit: Int? = nil) throws(TrellisError) -> [CommitInfo] {
        try engine.history(name, key: key, limit: limit)
    }

    /// What a commit changed against its newest parent (against nothing for a first version).
    public func changes(in id: CommitID) throws(TrellisError) -> [FieldChange] {
        let info = try engine.info(id)
        let parent = try newestParent(of: info)
        let old = if let parent { try document(at: parent) } else { Document?.none }
        return DocumentDiff.diff(old, try document(at: id))
    }

    /// A field-level diff. By default the last change: the newest head against its newest parent.
    /// With only `from`, the diff runs from `from` to the newest head.
    public func diff(_ key: String, from: CommitID? = nil, to: CommitID? = nil) throws(TrellisError) -> RecordDiff {
        let toInfo = if let to { try version(to, of: key) } else { try engine.current(name, key).head }
        let fromID = if let from { try version(from, of: key).id } else { try newestParent(of: toInfo) }
        let old = if let fromID { try document(at: fromID) } else { Document?.none }
        return RecordDiff(from: fromID, to: toInfo.id, changes: DocumentDiff.diff(old, try document(at: toInfo.id)))
    }

    /// Looks up a commit and checks that it is a version of `key` in this repository.
    private func version(_ id: CommitID, of key: String) throws(TrellisError) -> CommitInfo {
        let info = try engine.info(id)
        guard info.repository == name, info.key == key else {
            throw TrellisError(.invalidArgument, "commit \(id.short) is not a version of '\(key)' in repository '\(name)'")
        }
        return info
    }

    private func newestParent(of info: CommitInfo) throws(TrellisError) -> CommitID? {
        var parents: [CommitInfo] = []
        for p in info.parents { parents.append(try engine.info(p)) }
        return parents.sorted(by: CommitInfo.newerFirst).first?.id
    }
}
