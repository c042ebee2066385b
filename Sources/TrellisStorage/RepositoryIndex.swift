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
    /// Where the frame holding the commit starts in the repository's log.
    let frameOffset: UInt64

    /// Newest first: by hybrid logical clock, ties broken by the larger id.
    public static func newerFirst(_ a: CommitInfo, _ b: CommitInfo) -> Bool {
        a.timestamp != b.timestamp ? a.timestamp > b.timestamp : a.id > b.id
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

    init(name: String, log: LogFile) {
        self.name = name
        self.log = log
    }

    /// Adds a commit; a commit already present is ignored. Returns false for duplicates.
    @discardableResult
    func add(_ c: SignedCommit, frameOffset: UInt64) -> Bool {
        guard commits[c.id] == nil else { return false }
        let commit = c.commit
        commits[c.id] = CommitInfo(
            id: c.id, kind: commit.kind, repository: commit.repository, key: commit.key, parents: commit.parents,
            timestamp: commit.timestamp, author: commit.author, frameOffset: frameOffset)
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
