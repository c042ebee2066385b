import TrellisCore
import TrellisCrypto
import TrellisStorage

/// Counts of one sync, from one side's point of view.
public struct SyncReport: Sendable, Equatable, Codable {
    public var rounds = 0
    public var commitsSent = 0
    public var commitsReceived = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    /// Commits the peer lacks that were not sent because this side may not write there.
    public var commitsWithheld = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case rounds
        case commitsSent = "commits_sent"
        case commitsReceived = "commits_received"
        case bytesSent = "bytes_sent"
        case bytesReceived = "bytes_received"
        case commitsWithheld = "commits_withheld"
    }
}

/// One side of a sync session: the rules both roles share (docs/sync.md §The session).
/// Not thread-safe: a session is driven by one caller at a time.
final class SyncEndpoint {
    struct Snapshot {
        var marks: [String: UInt64]
        var digest: [UInt8]
    }

    private struct Held {
        let commit: WireCommit
        let repository: String
        let parents: [CommitID]
        let author: PublicKey?
    }

    static let maxHeldBytes = SyncMessage.maxHeldBytes

    let engine: any CommitStore
    private(set) var selection: [String] = []
    /// Arrival marks bounding this side's scope; nil means everything.
    var scopeMarks: [String: UInt64]?
    var report = SyncReport()

    private var known = Set<CommitID>()
    private var queued = Set<CommitID>()
    private var outbox: [(repository: String, id: CommitID)] = []
    private var outboxStart = 0
    /// Commits were queued since the outbox was last put in record order.
    private var outboxUnsorted = false
    private var held: [CommitID: Held] = [:]
    private var heldBytes = 0
    private var requested = Set<CommitID>()
    private var needToSend: [CommitID] = []
    /// Repositories whose commits this side may send; nil means all. Commits of the others are
    /// withheld (a client pulling from a server where it may only read).
    var pushable: Set<String>?
    /// Per repository, the keys the peer accepts commits by; nil means any. A commit by another
    /// author, and every commit built on a withheld one, is withheld too.
    var writers: [String: Set<PublicKey>]?
    /// Commits the peer lacks that this side withheld.
    private(set) var withheld = Set<CommitID>()
    /// Checks each received commit before anything is stored (the responder's access policy).
    var authorize: ((Commit.Header) throws(TrellisError) -> Void)?
    /// Round trips in a row that moved no commit and asked for none.
    private(set) var idleRounds = 0

    init(engine: any CommitStore) { self.engine = engine }

    func select(_ names: [String]) { selection = names }

    private func repositories() throws(TrellisError) -> [String] {
        selection.isEmpty ? try engine.repositoryNames() : selection
    }

    private func isSelected(_ repository: String) -> Bool { selection.isEmpty || selection.contains(repository) }

    /// Marks first, then heads: a commit added in between lands past the mark and stays in scope.
    func snapshot() throws(TrellisError) -> Snapshot {
        var marks: [String: UInt64] = [:]
        var heads: [CommitID] = []
        for repo in try repositories() {
            let view = try engine.syncView(repo)
            marks[repo] = view.seqEnd
            heads += view.heads
        }
        heads.sort()
        var w = ByteWriter(capacity: heads.count * 32)
        var last: CommitID? = nil
        for id in heads where id != last {
            id.write(to: &w)
            last = id
        }
        return Snapshot(marks: marks, digest: Blake2b256.hash(w.bytes))
    }

    /// This side's commits in scope, parents first. Arrival numbers only grow, so the list is
    /// kept for the session and extended with what arrived since it was last read.
    private struct ScopeCache {
        let marks: [String: UInt64]?
        var ids: [(repository: String, id: CommitID)] = []
        var ends: [String: UInt64] = [:]
    }
    private var scopeCache: ScopeCache?

    private func scope(marks: [String: UInt64]?) throws(TrellisError) -> [(repository: String, id: CommitID)] {
        var cache = scopeCache.flatMap { $0.marks == marks ? $0 : nil } ?? ScopeCache(marks: marks)
        for repo in try repositories() {
            let start = cache.ends[repo] ?? marks?[repo] ?? 0
            let arrived = try engine.arrivals(in: repo, since: start)
            for id in arrived.ids { cache.ids.append((repo, id)) }
            cache.ends[repo] = max(start, arrived.end)
        }
        scopeCache = cache
        return cache.ids
    }

    func filter(marks: [String: UInt64]?) throws(TrellisError) -> BloomFilter {
        try BloomFilter(try scope(marks: marks).map(\.id))
    }

    func filter() throws(TrellisError) -> BloomFilter { try filter(marks: scopeMarks) }

    // MARK: Receiving

    /// Stores what the peer sent, queues what it asked for, and, given its filter, queues
    /// every commit in scope that the filter lacks.
    func absorb(_ body: SyncBody) throws(TrellisError) {
        let moved = !body.commits.isEmpty || !body.need.isEmpty
        try store(body.commits)
        for id in body.need where queued.insert(id).inserted {
            let commit: SignedCommit
            do { commit = try engine.commit(id) } catch {
                throw TrellisError(.notFound, "the peer asked for commit \(id.short), which this store does not hold")
            }
            guard isSelected(commit.commit.repository) else {
                throw TrellisError(.invalidArgument, "the peer asked for commit \(id.short) outside the repositories being synced")
            }
            if try withholds(commit.commit.repository, id) { withheld.insert(id) } else {
                outbox.append((commit.commit.repository, id))
                outboxUnsorted = true
            }
        }
        if let filter = body.filter {
            let contains = filter.membership()
            for (repo, id) in try scope(marks: scopeMarks) where !known.contains(id) && !contains(id) && queued.insert(id).inserted {
                if try withholds(repo, id) { withheld.insert(id) } else {
                    outbox.append((repo, id))
                    outboxUnsorted = true
                }
            }
        }
        idleRounds = moved ? 0 : idleRounds + 1
    }

    /// Whether the peer would refuse this commit: its repository is pull-only, its author may not
    /// write there, or it builds on a withheld commit. Scopes list parents first.
    private func withholds(_ repository: String, _ id: CommitID) throws(TrellisError) -> Bool {
        guard pushable?.contains(repository) ?? true else { return true }
        guard let allowed = writers?[repository] else { return false }
        let info = try engine.info(id)
        if let author = info.author, !allowed.contains(author) { return true }
        return info.parents.contains(where: withheld.contains)
    }

    private func store(_ commits: [WireCommit]) throws(TrellisError) {
        guard !commits.isEmpty else { return }
        report.commitsReceived += commits.count
        var decoded: [(commit: WireCommit, id: CommitID, header: Commit.Header)] = []
        for c in commits {
            let header: Commit.Header
            do { header = try Commit.decodeHeader(c.encoded) } catch {
                throw TrellisError(.corruptData, "the peer sent a malformed commit: \(error.message)")
            }
            guard isSelected(header.repository) else {
                throw TrellisError(.invalidArgument, "the peer sent a commit of repository '\(header.repository)', which is not being synced")
            }
            try authorize?(header)
            decoded.append((c, CommitID.of(c.encoded), header))
        }
        // Which of these commits and their parents the store holds, asked once per repository.
        var asked: [String: Set<CommitID>] = [:]
        for d in decoded { asked[d.header.repository, default: []].formUnion([d.id] + d.header.parents) }
        for h in held.values { asked[h.repository, default: []].formUnion(h.parents) }
        var stored: [String: Set<CommitID>] = [:]
        for (repo, ids) in asked { stored[repo] = try engine.stored(ids, in: repo) }
        var batch: [(id: CommitID, held: Held)] = []
        var inBatch = Set<CommitID>()
        func present(_ id: CommitID, _ repo: String) -> Bool {
            inBatch.contains(id) || stored[repo]?.contains(id) == true
        }
        func allPresent(_ ids: [CommitID], _ repo: String) -> Bool { ids.allSatisfy { present($0, repo) } }
        func hold(_ id: CommitID, _ h: Held) throws(TrellisError) {
            heldBytes += h.commit.encoded.count + h.commit.signature.count
            guard heldBytes <= Self.maxHeldBytes else {
                throw TrellisError(.invalidArgument, "the peer sent more than \(Self.maxHeldBytes) bytes of commits whose parents or covering signatures are missing")
            }
            held[id] = h
        }
        for (c, id, header) in decoded {
            known.insert(id)
            requested.remove(id)
            guard held[id] == nil, !present(id, header.repository) else { continue }
            let h = Held(commit: c, repository: header.repository, parents: header.parents, author: header.author)
            if allPresent(header.parents, header.repository) {
                batch.append((id, h))
                inBatch.insert(id)
            } else {
                try hold(id, h)
            }
        }
        // Release held commits whose parents have now arrived, oldest first, until none moves.
        var released = true
        while released {
            released = false
            for (id, h) in held.sorted(by: { $0.key < $1.key }) where allPresent(h.parents, h.repository) {
                batch.append((id, h))
                inBatch.insert(id)
                held[id] = nil
                heldBytes -= h.commit.encoded.count + h.commit.signature.count
                released = true
            }
        }
        // A commit whose signature was dropped waits, with its descendants, for the later commit
        // by its author that covers it (docs/sync.md §Covered signatures).
        // Moving one to wait can uncover another (a cover that waits for a parent): settle.
        var waiting = Set<CommitID>()
        var ready = batch
        while true {
            let needs = SignatureCoverage.plan(ready.map {
                SignatureCoverage.Item(id: $0.id, author: $0.held.author, parents: $0.held.parents, hasSignature: !$0.held.commit.signature.isEmpty)
            })
            var moved = false
            for ((id, h), need) in zip(ready, needs) where need == .missing || h.parents.contains(where: waiting.contains) {
                waiting.insert(id)
                moved = true
            }
            guard moved else { break }
            ready.removeAll { waiting.contains($0.id) }
        }
        for (id, h) in batch where waiting.contains(id) { try hold(id, h) }
        for h in held.values {
            for p in h.parents where held[p] == nil && !requested.contains(p) && !present(p, h.repository) {
                requested.insert(p)
                needToSend.append(p)
            }
        }
        try engine.receive(encoded: ready.map(\.held.commit))
    }

    // MARK: Sending

    var hasQueued: Bool { outboxStart < outbox.count }
    var hasNeeds: Bool { !needToSend.isEmpty }
    var hasHeld: Bool { !held.isEmpty }

    /// The next body: the digest given, the ids this side needs, queued commits up to the
    /// message target, and a filter when asked and this side has sent all it queued (while it
    /// still streams, a filter per round would be rebuilt over the whole scope for nothing: the
    /// last message of the stream carries one).
    func nextBody(digest: [UInt8], withFilter: Bool) throws(TrellisError) -> SyncBody {
        var body = SyncBody(digest: digest)
        body.need = Array(needToSend.prefix(SyncMessage.maxNeed))
        needToSend.removeFirst(body.need.count)
        if outboxUnsorted {
            try sortOutboxByRecord()
            outboxUnsorted = false
        }
        var bytes = 0
        while outboxStart < outbox.count, body.commits.count < SyncMessage.maxCommits {
            // Past the target, a message goes on only to bring the commit that covers a dropped
            // signature of the record it ends with.
            if bytes >= SyncMessage.targetCommitBytes, !body.commits.isEmpty {
                guard try CoverageCut.endsUncovered(body.commits, nextID: outbox[outboxStart].id, in: engine) else { break }
            }
            let (repo, first) = outbox[outboxStart]
            // Read a run of the same repository at once.
            var ids = [first]
            var i = outboxStart + 1
            let run = bytes >= SyncMessage.targetCommitBytes ? 1 : 256
            while i < outbox.count, outbox[i].repository == repo, ids.count < run {
                ids.append(outbox[i].id)
                i += 1
            }
            for (id, c) in zip(ids, try engine.wireCommits(in: repo, ids)) {
                body.commits.append(c)
                known.insert(id)
                bytes += c.encoded.count + c.signature.count
                outboxStart += 1
                if bytes >= SyncMessage.targetCommitBytes { break }
            }
        }
        if outboxStart == outbox.count {
            outbox.removeAll(keepingCapacity: true)
            outboxStart = 0
        }
        body.more = hasQueued
        if withFilter && !body.more { body.filter = try filter() }
        report.commitsSent += body.commits.count
        if !body.commits.isEmpty || !body.need.isEmpty { idleRounds = 0 }
        return body
    }

    /// Puts the commits not yet sent in record order: by repository, key, generation and id,
    /// which is parents first, and keeps each record's commits together so that a commit
    /// whose signature was dropped travels with the later one that covers it.
    private func sortOutboxByRecord() throws(TrellisError) {
        outbox.replaceSubrange(outboxStart..., with: try CoverageCut.recordOrder(Array(outbox[outboxStart...]), in: engine))
    }

    func countSent(_ bytes: [UInt8]) -> [UInt8] {
        report.bytesSent += bytes.count
        return bytes
    }

    func decodeReceived(_ bytes: [UInt8]) throws(TrellisError) -> SyncMessage {
        report.bytesReceived += bytes.count
        return try SyncMessage.decode(bytes)
    }

    /// Saves the token and marks for a peer once both sides hold the same commits.
    func saveState(peer: String, token: [UInt8], marks: [String: UInt64]) throws(TrellisError) {
        try PeerState.save(in: engine, peer: peer, PeerState.Entry(selection: selection, token: token, marks: marks))
    }

    func savedState(peer: String) -> PeerState.Entry? {
        PeerState.entry(in: engine, peer: peer, selection: selection)
    }
}
