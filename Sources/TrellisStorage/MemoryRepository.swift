import TrellisCore

/// One repository of a `MemoryEngine`: every commit in a dictionary, arrival order in an array,
/// and the heads of every key. Not thread-safe: the engine's mutex guards it.
///
/// While a batch is open, each commit added is journalled with the heads it replaced, so that a
/// failed batch is undone in place (a store in memory has no disk to reload from).
final class MemoryRepository: RecordIndex {
    private struct Stored {
        let commit: SignedCommit
        let info: CommitInfo
    }

    private struct Undo {
        let id: CommitID
        let key: String
        let previousHeads: [CommitID]?
    }

    let name: String
    private var commits: [CommitID: Stored] = [:]
    /// Commits in arrival order: a commit's arrival number is its place here.
    private var order: [CommitID] = []
    private var heads: [String: [CommitID]] = [:]
    private var journal: [Undo] = []

    init(name: String) { self.name = name }

    var isEmpty: Bool { order.isEmpty }
    var seqEnd: UInt64 { UInt64(order.count) }

    // MARK: Adding

    /// Adds a commit whose parents are stored; false when it is stored already.
    @discardableResult
    func add(_ c: SignedCommit) throws(TrellisError) -> Bool {
        guard commits[c.id] == nil else { return false }
        var generation: UInt32 = 0
        for p in c.commit.parents {
            guard let parent = commits[p] else { throw TrellisError(.notFound, "commit \(c.id.short) names a parent \(p.short) that is not stored") }
            generation = max(generation, parent.info.generation)
        }
        let commit = c.commit
        let header = Commit.Header(kind: commit.kind, repository: commit.repository, key: commit.key, parents: commit.parents,
                                   timestamp: commit.timestamp, author: commit.author)
        commits[c.id] = Stored(commit: c, info: CommitInfo(id: c.id, generation: generation + 1, header: header))
        order.append(c.id)
        let previous = heads[commit.key]
        journal.append(Undo(id: c.id, key: commit.key, previousHeads: previous))
        heads[commit.key] = (previous ?? []).filter { !commit.parents.contains($0) } + [c.id]
        return true
    }

    /// The journal's length, to undo back to.
    var journalMark: Int { journal.count }

    /// Undoes every commit added since `mark`, newest first.
    func undo(to mark: Int) {
        while journal.count > mark, let u = journal.popLast() {
            commits[u.id] = nil
            order.removeLast()
            heads[u.key] = u.previousHeads
        }
    }

    /// The batch is kept: its undo entries go.
    func forgetJournal() { journal.removeAll(keepingCapacity: true) }

    // MARK: Reading

    func contains(_ id: CommitID) -> Bool { commits[id] != nil }

    func info(_ id: CommitID) -> CommitInfo? { commits[id]?.info }

    func signedCommit(_ id: CommitID) -> SignedCommit? { commits[id]?.commit }

    func document(of id: CommitID) throws(TrellisError) -> Document? {
        guard let stored = commits[id] else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
        return stored.commit.commit.document
    }

    func heads(of key: String) -> [CommitInfo] {
        (heads[key] ?? []).compactMap { commits[$0]?.info }.sorted(by: CommitInfo.newerFirst)
    }

    func current(_ key: String) throws(TrellisError) -> CurrentVersion? {
        guard let newest = heads(of: key).first else { return nil }
        return CurrentVersion(head: newest, document: try document(of: newest.id))
    }

    var allHeadIDs: [CommitID] { heads.values.flatMap { $0 } }

    var allHeads: [CommitInfo] { allHeadIDs.compactMap { commits[$0]?.info } }

    var keysWithSeveralHeads: [String] {
        heads.compactMap { $0.value.count > 1 ? $0.key : nil }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Keys whose merged document exists, in byte order.
    func liveKeys() throws(TrellisError) -> [String] {
        var out: [String] = []
        for key in heads.keys where try mergedDocument(key).flatMap({ $0 }) != nil { out.append(key) }
        return out.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    func ids(arrivedSince start: UInt64) -> [CommitID] {
        Array(order[min(order.count, Int(clamping: start))...])
    }

    var allCommits: [CommitInfo] { order.compactMap { commits[$0]?.info } }

    func ids(withHexPrefix hex: String) -> [CommitID] { order.filter { $0.hex.hasPrefix(hex) } }

    // MARK: MergeSource

    func parents(of id: CommitID) -> [CommitID] { commits[id]?.info.parents ?? [] }

    func generation(of id: CommitID) -> UInt32 { commits[id]?.info.generation ?? 0 }

    func side(of id: CommitID) throws(TrellisError) -> MergeSide {
        guard let stored = commits[id] else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
        return MergeSide(document: stored.commit.commit.document, timestamp: stored.info.timestamp, id: id)
    }
}
