import TrellisCore
import TrellisCrypto

/// What the store keeps in memory about each commit; documents stay on disk except at heads.
public struct CommitInfo: Sendable, Hashable {
    public let id: CommitID
    public let kind: Commit.Kind
    public let repository: String
    public let key: String
    public let parents: [CommitID]
    public let timestamp: HLCTimestamp
    public let author: PublicKey?
    /// 1 for a root, else 1 + the largest parent generation: bounds merge-base searches.
    public let generation: UInt32
    /// Where the frame holding the commit starts in the repository's log.
    let frameOffset: UInt64

    /// Newest first: by hybrid logical clock, then generation (a merge shares its newest
    /// parent's timestamp but comes after it), then the larger id.
    public static func newerFirst(_ a: CommitInfo, _ b: CommitInfo) -> Bool {
        if a.timestamp != b.timestamp { return a.timestamp > b.timestamp }
        if a.generation != b.generation { return a.generation > b.generation }
        return a.id > b.id
    }
}

/// One key's heads (commits no other commit of the key builds on) with their documents.
struct KeyState {
    /// nil document = tombstone head.
    var heads: [CommitID: Document?] = [:]
    var history: [CommitID] = []
}

/// The in-memory index of one repository, rebuilt from its log on open.
final class RepositoryIndex {
    let name: String
    let log: LogFile
    private(set) var commits: [CommitID: CommitInfo] = [:]
    private(set) var keys: [String: KeyState] = [:]
    /// Ids that some stored commit names as a parent: never heads.
    private var parented: Set<CommitID> = []
    /// Documents of commits added but not yet in a written frame (a batch being built).
    private var unwritten: [CommitID: Document?] = [:]

    init(name: String, log: LogFile) {
        self.name = name
        self.log = log
    }

    /// Adds a commit; a commit already present is ignored. Returns false for duplicates.
    @discardableResult
    func add(_ c: SignedCommit, frameOffset: UInt64, unwritten isUnwritten: Bool = false) -> Bool {
        guard commits[c.id] == nil else { return false }
        if isUnwritten { unwritten[c.id] = .some(c.commit.document) }
        let commit = c.commit
        let generation = 1 + (commit.parents.compactMap { commits[$0]?.generation }.max() ?? 0)
        commits[c.id] = CommitInfo(
            id: c.id, kind: commit.kind, repository: commit.repository, key: commit.key, parents: commit.parents,
            timestamp: commit.timestamp, author: commit.author, generation: generation, frameOffset: frameOffset)
        var state = keys[commit.key] ?? KeyState()
        for p in commit.parents {
            parented.insert(p)
            state.heads.removeValue(forKey: p)
        }
        if !parented.contains(c.id) { state.heads[c.id] = .some(commit.document) }
        state.history.append(c.id)
        keys[commit.key] = state
        return true
    }

    /// Heads of a key, newest first.
    func heads(of key: String) -> [CommitInfo] {
        guard let state = keys[key] else { return [] }
        return state.heads.keys.compactMap { commits[$0] }.sorted(by: CommitInfo.newerFirst)
    }

    /// The newest head and its document (nil when that head is a tombstone).
    func current(_ key: String) -> (CommitInfo, Document?)? {
        guard let newest = heads(of: key).first, let doc = headDocument(key, newest.id) else { return nil }
        return (newest, doc)
    }

    /// The document at a head: `.some(nil)` for a tombstone head, nil when `id` is not a head.
    func headDocument(_ key: String, _ id: CommitID) -> Document?? {
        guard let state = keys[key], let entry = state.heads[id] else { return nil }
        return .some(entry)
    }

    /// Keys whose newest head is not a tombstone, in byte order.
    func liveKeys() -> [String] {
        keys.keys.filter { key in
            guard let (_, document) = current(key) else { return false }
            return document != nil
        }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}

extension RepositoryIndex: MergeSource {
    func parents(of id: CommitID) -> [CommitID] { commits[id]?.parents ?? [] }

    func generation(of id: CommitID) -> UInt32 { commits[id]?.generation ?? 0 }

    /// A version for merging: heads' documents are in memory, older ones are read from the log.
    func side(of id: CommitID) throws(TrellisError) -> MergeSide {
        guard let info = commits[id] else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
        return MergeSide(document: try document(of: info), timestamp: info.timestamp, id: id)
    }

    /// The batch's frame is durable: its documents can be read from the log from now on.
    func markWritten() { unwritten = [:] }

    func document(of info: CommitInfo) throws(TrellisError) -> Document? {
        if let cached = headDocument(info.key, info.id) { return cached }
        if let pending = unwritten[info.id] { return pending }
        return try signedCommit(info).commit.document
    }

    /// A stored commit, read from its frame in the log.
    func signedCommit(_ info: CommitInfo) throws(TrellisError) -> SignedCommit {
        guard let c = try log.readFrame(at: info.frameOffset).first(where: { $0.id == info.id }) else {
            throw TrellisError(.corruptData, "commit \(info.id.short) is missing from its frame at offset \(info.frameOffset)")
        }
        return c
    }
}
