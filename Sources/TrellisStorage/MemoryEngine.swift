import Foundation
import TrellisCore
import TrellisCrypto

/// A store held in memory (`Store.inMemory()`): the same commits, ids, signatures, merges and
/// checks as the file engine, with nothing written anywhere. It is gone when the last reference
/// goes. Tests, caches and previews use it; it syncs with any other store.
///
/// One mutex guards all of its state; a write runs whole under it (a store in memory has no
/// fsync or lock wait worth running outside). Observers are called after it is released.
package final class MemoryEngine: RecordStore {
    /// What the mutex guards. A class, so that a batch can hold it while the mutex is held.
    final class State {
        var repos: [String: MemoryRepository] = [:]
        var clock = HybridLogicalClock()
        var settings: [StoreSetting: [UInt8]] = [:]
        /// The wall clock in milliseconds; tests pass their own to replay exact timestamps.
        var physicalMillis: @Sendable () -> UInt64 = FileSystem.nowMillis
    }

    private let state = Locked(State())
    private let signingKey: SigningKey
    private let observers = CommitObservers()
    package let peerAddress: String

    /// A new, empty store with a new identity, or with `identity` when given; `wallClock`
    /// replaces the system clock (milliseconds) so that tests can make every id reproducible.
    package init(identity: SigningKey? = nil, wallClock: (@Sendable () -> UInt64)? = nil) throws(TrellisError) {
        if let identity {
            signingKey = identity
        } else {
            do { signingKey = try SigningKey.generate() } catch { throw TrellisError(.io, "cannot create an identity key: \(error)") }
        }
        peerAddress = "memory:" + UUID().uuidString.lowercased()
        if let wallClock { state.withLock { $0.physicalMillis = wallClock } }
    }

    package var identity: SigningKey { signingKey }

    // MARK: Locking

    private func reading<T: Sendable>(_ body: (State) throws(TrellisError) -> T) throws(TrellisError) -> T {
        WriteReentry.refuse(self, "a read")
        return try state.withLock { (s: inout State) throws(TrellisError) -> T in try body(s) }
    }

    private func repository(_ s: State, _ name: String) throws(TrellisError) -> MemoryRepository {
        guard let repo = s.repos[name] else { throw TrellisError(.notFound, "unknown repository '\(name)'") }
        return repo
    }

    /// Runs `body` as one all-or-nothing batch; observers hear of it once the mutex is released.
    private func writeBatch<T: Sendable>(_ body: (MemoryBatch) throws(TrellisError) -> T) throws(TrellisError) -> T {
        WriteReentry.refuse(self, "a write")
        let (result, touched) = try state.withLock { (s: inout State) throws(TrellisError) -> (T, Set<String>) in
            try WriteReentry.marking(self) { () throws(TrellisError) -> (T, Set<String>) in
                let batch = MemoryBatch(state: s, key: signingKey)
                do throws(TrellisError) {
                    let result = try body(batch)
                    batch.keep()
                    return (result, batch.touched)
                } catch {
                    batch.undo()
                    throw error
                }
            }
        }
        observers.notify(touched)
        return result
    }

    // MARK: CommitStore

    package func repositoryNames() throws(TrellisError) -> [String] {
        try reading { s in s.repos.keys.sorted() }
    }

    package func syncView(_ repository: String) throws(TrellisError) -> SyncView {
        try reading { s in
            guard let repo = s.repos[repository] else { return SyncView(seqEnd: 0, heads: []) }
            return SyncView(seqEnd: repo.seqEnd, heads: repo.allHeadIDs)
        }
    }

    package func arrivals(in repository: String, since mark: UInt64) throws(TrellisError) -> Arrivals {
        try reading { s in
            guard let repo = s.repos[repository] else { return Arrivals(ids: [], end: 0) }
            return Arrivals(ids: repo.ids(arrivedSince: mark), end: repo.seqEnd)
        }
    }

    package func commit(_ id: CommitID) throws(TrellisError) -> SignedCommit {
        try reading { (s: State) throws(TrellisError) in
            for repo in s.repos.values { if let c = repo.signedCommit(id) { return c } }
            throw TrellisError(.notFound, "unknown commit \(id.short)")
        }
    }

    package func info(_ id: CommitID) throws(TrellisError) -> CommitInfo {
        try reading { (s: State) throws(TrellisError) in
            for repo in s.repos.values { if let i = repo.info(id) { return i } }
            throw TrellisError(.notFound, "unknown commit \(id.short)")
        }
    }

    package func infos(in repository: String, _ ids: [CommitID]) throws(TrellisError) -> [CommitInfo] {
        var out: [CommitInfo] = []
        out.reserveCapacity(ids.count)
        for id in ids { out.append(try info(id)) }
        return out
    }

    package func commits(in repository: String, _ ids: [CommitID]) throws(TrellisError) -> [SignedCommit] {
        try reading { (s: State) throws(TrellisError) in
            let repo = try self.repository(s, repository)
            var out: [SignedCommit] = []
            for id in ids {
                guard let c = repo.signedCommit(id) else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
                out.append(c)
            }
            return out
        }
    }

    package func stored(_ ids: Set<CommitID>, in repository: String) throws(TrellisError) -> Set<CommitID> {
        try reading { s in
            guard let repo = s.repos[repository] else { return [] }
            return ids.filter(repo.contains)
        }
    }

    package func receive(encoded commits: [WireCommit]) throws(TrellisError) {
        let verified = try SignedCommit.verifyAll(commits)
        try writeBatch { (batch: MemoryBatch) throws(TrellisError) in
            for c in verified {
                try StorageEngine.checkRepositoryName(c.commit.repository)
                let repo = batch.repository(forWriting: c.commit.repository)
                guard !repo.contains(c.id) else { continue }
                try repo.checkReceived(c)
                batch.state.clock.observe(c.commit.timestamp)
                try batch.add(c, to: repo)
            }
        }
    }

    package func observeCommits(_ observer: @escaping @Sendable (Set<String>) -> Void) -> UInt64 {
        observers.add(observer)
    }

    package func stopObservingCommits(_ token: UInt64) { observers.remove(token) }

    package func setting(_ name: StoreSetting) throws(TrellisError) -> [UInt8]? {
        try reading { s in s.settings[name] }
    }

    package func saveSetting(_ name: StoreSetting, _ bytes: [UInt8]) throws(TrellisError) {
        try reading { s in s.settings[name] = bytes }
    }

    package func repositoriesWithAccessLists() throws(TrellisError) -> [String] {
        try reading { s in
            s.settings.keys.compactMap { if case .accessList(let name) = $0 { name } else { nil } }.sorted()
        }
    }

    // MARK: RecordStore

    @discardableResult
    package func write(_ requests: [WriteRequest]) throws(TrellisError) -> [CommitInfo] {
        try writeBatch { (batch: MemoryBatch) throws(TrellisError) in
            var out: [CommitInfo] = []
            for request in requests { out.append(try batch.stage(request)) }
            return out
        }
    }

    package func transaction<T: Sendable>(_ body: @Sendable (EngineTransaction) throws(TrellisError) -> T) throws(TrellisError) -> T {
        try writeBatch { (batch: MemoryBatch) throws(TrellisError) in
            let tx = EngineTransaction(batch)
            defer { tx.closed = true }
            return try body(tx)
        }
    }

    package func merged(_ repository: String, _ key: String) throws(TrellisError) -> Document? {
        try reading { (s: State) throws(TrellisError) in
            guard let found = try self.repository(s, repository).mergedDocument(key) else {
                throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repository)'")
            }
            return found
        }
    }

    package func current(_ repository: String, _ key: String) throws(TrellisError) -> CurrentVersion {
        try reading { (s: State) throws(TrellisError) in
            guard let found = try self.repository(s, repository).current(key) else {
                throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repository)'")
            }
            return found
        }
    }

    package func heads(_ repository: String, _ key: String) throws(TrellisError) -> [CommitInfo] {
        try reading { (s: State) throws(TrellisError) in
            let heads = try self.repository(s, repository).heads(of: key)
            guard !heads.isEmpty else { throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repository)'") }
            return heads
        }
    }

    package func createRepository(_ name: String) throws(TrellisError) {
        try StorageEngine.checkRepositoryName(name)
        try writeBatch { (batch: MemoryBatch) throws(TrellisError) in
            guard !batch.exists(name) else { throw TrellisError(.invalidArgument, "repository '\(name)' already exists") }
            _ = batch.repository(forWriting: name)
        }
    }

    package func removeRepository(_ name: String) throws(TrellisError) {
        try StorageEngine.checkRepositoryName(name)
        try state.withLock { (s: inout State) throws(TrellisError) in
            guard s.repos.removeValue(forKey: name) != nil else { throw TrellisError(.notFound, "unknown repository '\(name)'") }
        }
    }

    package func allHeads(_ repository: String) throws(TrellisError) -> [CommitInfo] {
        try reading { (s: State) throws(TrellisError) in try self.repository(s, repository).allHeads }
    }

    package func keys(in repository: String) throws(TrellisError) -> [String] {
        try reading { (s: State) throws(TrellisError) in try self.repository(s, repository).liveKeys() }
    }

    package func history(_ repository: String, key: String? = nil, limit: Int? = nil) throws(TrellisError) -> [CommitInfo] {
        try reading { (s: State) throws(TrellisError) in
            let repo = try self.repository(s, repository)
            guard let key else { return CommitInfo.newestFirst(repo.allCommits, limit: limit) }
            guard let found = try repo.walkHistory(of: key) else {
                throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repository)'")
            }
            return CommitInfo.newestFirst(found, limit: limit)
        }
    }

    @discardableResult
    package func mergeHeads(_ repository: String, _ key: String) throws(TrellisError) -> CommitInfo {
        _ = try heads(repository, key)  // unknown key: a clear error
        return try writeBatch { (batch: MemoryBatch) throws(TrellisError) in
            let repo = try self.repository(batch.state, repository)
            if let merge = try repo.mergeCommit(key) { try batch.add(merge, to: repo) }
            return repo.heads(of: key)[0]
        }
    }

    package func mergeAllHeads(_ repository: String) throws(TrellisError) -> [CommitInfo] {
        try writeBatch { (batch: MemoryBatch) throws(TrellisError) in
            let repo = try self.repository(batch.state, repository)
            var out: [CommitInfo] = []
            for key in repo.keysWithSeveralHeads {
                if let merge = try repo.mergeCommit(key) {
                    try batch.add(merge, to: repo)
                    if let info = repo.info(merge.id) { out.append(info) }
                }
            }
            return out
        }
    }

    package func conflicts(_ repository: String, key: String? = nil) throws(TrellisError) -> [ResolvedMerge] {
        let merges = try history(repository, key: key, limit: nil)
        return try reading { (s: State) throws(TrellisError) in try self.repository(s, repository).resolvedMerges(merges) }
    }

    package func resolve(_ text: String) throws(TrellisError) -> CommitID {
        let hex = try CommitID.hexPrefix(text)
        return try CommitID.unique(try reading { s in s.repos.values.flatMap { $0.ids(withHexPrefix: hex) } }, prefix: text)
    }

    /// A store in memory meets no damage.
    package func takeWarnings() -> [String] { [] }

    /// Nothing to make durable.
    package func flush() {}
}

/// One write batch of a `MemoryEngine`, run under its mutex: staged commits go straight into
/// the repositories (so later reads of the batch see them), journalled so that `undo` removes
/// them and any repository the batch created.
final class MemoryBatch: TransactionStaging {
    let state: MemoryEngine.State
    private let key: SigningKey
    private var marks: [String: Int] = [:]
    private var created: [String] = []
    private(set) var touched: Set<String> = []

    init(state: MemoryEngine.State, key: SigningKey) {
        self.state = state
        self.key = key
    }

    func exists(_ name: String) -> Bool { state.repos[name] != nil }

    /// The repository, created when new (and removed again if the batch fails).
    func repository(forWriting name: String) -> MemoryRepository {
        if let repo = state.repos[name] { return repo }
        let repo = MemoryRepository(name: name)
        state.repos[name] = repo
        created.append(name)
        return repo
    }

    func add(_ commit: SignedCommit, to repo: MemoryRepository) throws(TrellisError) {
        if marks[repo.name] == nil { marks[repo.name] = repo.journalMark }
        if try repo.add(commit) { touched.insert(repo.name) }
    }

    func document(_ repository: String, _ key: String) throws(TrellisError) -> Document? {
        guard let repo = state.repos[repository], let found = try repo.mergedDocument(key) else { return nil }
        return found
    }

    /// As the file engine's `stage`: a change on top of several heads builds on their merge.
    func stage(_ request: WriteRequest) throws(TrellisError) -> CommitInfo {
        try StorageEngine.checkRepositoryName(request.repository)
        if request.needsExistingRecord, state.repos[request.repository] == nil {
            throw TrellisError(.notFound, "unknown repository '\(request.repository)'")
        }
        let repo = repository(forWriting: request.repository)
        if request.parents == nil, let merge = try repo.mergeCommit(request.key) { try add(merge, to: repo) }
        let commit = try repo.makeCommit(request, clock: &state.clock, physicalMillis: state.physicalMillis(), author: key)
        try add(commit.signed(with: key), to: repo)
        guard let info = repo.info(commit.id) else { throw TrellisError(.corruptData, "commit \(commit.id.short) vanished") }
        return info
    }

    func keep() {
        for name in marks.keys { state.repos[name]?.forgetJournal() }
    }

    func undo() {
        for (name, mark) in marks { state.repos[name]?.undo(to: mark) }
        for name in created { state.repos[name] = nil }
    }
}
