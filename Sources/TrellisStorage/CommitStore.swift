import TrellisCore
import TrellisCrypto

/// A commit as it travels between stores: its canonical encoding and its signature, checked by
/// whoever receives it.
package struct WireCommit: Sendable, Equatable {
    package let encoded: [UInt8]
    package let signature: [UInt8]

    package init(encoded: [UInt8], signature: [UInt8]) {
        self.encoded = encoded
        self.signature = signature
    }

    package init(_ c: SignedCommit) { self.init(encoded: c.encoded, signature: c.signature) }
}

/// A repository's heads and the end of its arrival numbers, read together (both empty for a
/// repository the store does not hold).
package struct SyncView: Sendable, Equatable {
    package let seqEnd: UInt64
    package let heads: [CommitID]

    package init(seqEnd: UInt64, heads: [CommitID]) {
        (self.seqEnd, self.heads) = (seqEnd, heads)
    }
}

/// Commits that arrived since a mark, parents first, and the mark to read from next time.
package struct Arrivals: Sendable, Equatable {
    package let ids: [CommitID]
    package let end: UInt64

    package init(ids: [CommitID], end: UInt64) {
        (self.ids, self.end) = (ids, end)
    }
}

/// Small values a store keeps beside its commits, never synced: what it remembers of each peer
/// (docs/sync.md §Per-peer state) and the access lists a server applies (docs/server.md).
package enum StoreSetting: Hashable, Sendable {
    /// The state saved for the peer at this address.
    case peerState(peer: String)
    /// The access list of this repository.
    case accessList(repository: String)
}

/// What sync sessions, bundles, the broker and the server need of a store: its repositories and
/// their heads, commits by id and by arrival, verified receipt, and its settings. The file
/// engine (`StorageEngine`) and the in-memory engine (`MemoryEngine`) conform; so can a store
/// kept elsewhere. docs/architecture.md §The commit-store seam lists the rules an implementation
/// keeps.
///
/// Arrival numbers are per repository, only grow, and number each stored commit once; a commit
/// arrives after its parents.
package protocol CommitStore: AnyObject, Sendable {
    /// The key this store signs its commits with and authenticates to servers with.
    var identity: SigningKey { get throws(TrellisError) }

    /// The repositories that hold at least one commit, sorted.
    func repositoryNames() throws(TrellisError) -> [String]

    func syncView(_ repository: String) throws(TrellisError) -> SyncView

    /// Commits of `repository` with an arrival number of at least `mark`, in arrival order.
    func arrivals(in repository: String, since mark: UInt64) throws(TrellisError) -> Arrivals

    /// A stored commit of any repository; `.notFound` when none has it.
    func commit(_ id: CommitID) throws(TrellisError) -> SignedCommit

    func info(_ id: CommitID) throws(TrellisError) -> CommitInfo

    /// `info` of many commits of one repository, in the order asked; `.notFound` when one is
    /// missing. Read in the order they are stored, which a pack's delta chains reward.
    func infos(in repository: String, _ ids: [CommitID]) throws(TrellisError) -> [CommitInfo]

    /// Stored commits of one repository, in the order asked; `.notFound` when one is missing.
    func commits(in repository: String, _ ids: [CommitID]) throws(TrellisError) -> [SignedCommit]

    /// The same commits' stored bytes and signatures, in the order asked, undecoded: what a
    /// sync sends. The default decodes them through `commits(in:_:)`.
    func wireCommits(in repository: String, _ ids: [CommitID]) throws(TrellisError) -> [WireCommit]

    /// Which of `ids` the repository holds, in one look.
    func stored(_ ids: Set<CommitID>, in repository: String) throws(TrellisError) -> Set<CommitID>

    /// Stores commits made elsewhere, all or nothing, after checking each: its id, its signature,
    /// its parents (stored, or earlier in the batch, of the same record), and for a merge commit
    /// that recomputing the merge of its parents gives it byte for byte.
    func receive(encoded commits: [WireCommit]) throws(TrellisError)

    /// Registers `observer`, called with the repositories each write of this store changed (its
    /// own writes and received commits, not other processes'); returns a token for `stopObserving`.
    func observeCommits(_ observer: @escaping @Sendable (Set<String>) -> Void) -> UInt64
    func stopObservingCommits(_ token: UInt64)

    /// A saved setting's bytes, nil when none is saved.
    func setting(_ name: StoreSetting) throws(TrellisError) -> [UInt8]?
    /// Replaces a setting, atomically.
    func saveSetting(_ name: StoreSetting, _ bytes: [UInt8]) throws(TrellisError)
    /// The repositories that have an access list saved.
    func repositoriesWithAccessLists() throws(TrellisError) -> [String]

    /// How this store is named to its peers' saved state: `path:` and its canonical path, or
    /// `memory:` and a random id for a store in memory.
    var peerAddress: String { get }
}

/// The reads and writes of records that `Store` and `Repository` are written against, on top of
/// what sync needs.
package protocol RecordStore: CommitStore {
    /// Writes the changes as one all-or-nothing batch; returns the new commits in request order.
    @discardableResult
    func write(_ requests: [WriteRequest]) throws(TrellisError) -> [CommitInfo]
    /// Runs `body` as one write transaction (`EngineTransaction`).
    func transaction<T: Sendable>(_ body: @Sendable (EngineTransaction) throws(TrellisError) -> T) throws(TrellisError) -> T
    /// The record's merged document; nil when deleted, `.notFound` when never written.
    func merged(_ repository: String, _ key: String) throws(TrellisError) -> Document?
    /// The newest head of a record and its document (nil when that head deletes it).
    func current(_ repository: String, _ key: String) throws(TrellisError) -> CurrentVersion
    /// The heads of a record, newest first; `.notFound` when never written.
    func heads(_ repository: String, _ key: String) throws(TrellisError) -> [CommitInfo]
    /// The heads of every record, deleted ones included, in no particular order; `.notFound`
    /// for an unknown repository. History walks over a whole repository start here.
    func allHeads(_ repository: String) throws(TrellisError) -> [CommitInfo]
    /// Keys that are not deleted, in byte order; `.notFound` for an unknown repository.
    func keys(in repository: String) throws(TrellisError) -> [String]
    /// Commits newest first, of one key or of the whole repository.
    func history(_ repository: String, key: String?, limit: Int?) throws(TrellisError) -> [CommitInfo]
    /// Writes the merge commit of a record's heads; returns its single head.
    @discardableResult
    func mergeHeads(_ repository: String, _ key: String) throws(TrellisError) -> CommitInfo
    func mergeAllHeads(_ repository: String) throws(TrellisError) -> [CommitInfo]
    /// The conflicts each merge commit resolved, newest first.
    func conflicts(_ repository: String, key: String?) throws(TrellisError) -> [ResolvedMerge]
    /// A full id from 64 hex digits or a unique prefix of at least 4.
    func resolve(_ text: String) throws(TrellisError) -> CommitID
    /// Makes an empty repository; fails when one by that name exists.
    func createRepository(_ name: String) throws(TrellisError)
    /// Removes a repository and all of its history from this store, at once.
    func removeRepository(_ name: String) throws(TrellisError)
    /// Warnings about damage met or repaired since the last call.
    func takeWarnings() -> [String]
    /// Returns once every acknowledged write is durable.
    func flush()
}

/// A record's newest head and its document, nil when that head deletes the record.
package struct CurrentVersion: Sendable {
    package let head: CommitInfo
    package let document: Document?

    package init(head: CommitInfo, document: Document?) { (self.head, self.document) = (head, document) }
}

/// A merge commit and the conflicts its rules resolved.
public struct ResolvedMerge: Sendable {
    public let merge: CommitInfo
    public let conflicts: [MergeConflict]

    public init(merge: CommitInfo, conflicts: [MergeConflict]) { (self.merge, self.conflicts) = (merge, conflicts) }
}

extension CommitStore {
    package func wireCommits(in repository: String, _ ids: [CommitID]) throws(TrellisError) -> [WireCommit] {
        try commits(in: repository, ids).map(WireCommit.init)
    }

    /// Whether the two are the same store (syncing a store with itself is refused).
    package func isSameStore(as other: any CommitStore) -> Bool { peerAddress == other.peerAddress }
}

extension RecordStore {
    /// Every commit of a repository, or of one key, newest first.
    package func history(_ repository: String, key: String? = nil) throws(TrellisError) -> [CommitInfo] {
        try history(repository, key: key, limit: nil)
    }

    package func conflicts(_ repository: String) throws(TrellisError) -> [ResolvedMerge] {
        try conflicts(repository, key: nil)
    }
}
