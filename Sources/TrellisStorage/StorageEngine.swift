#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import TrellisCore
import TrellisCrypto

/// One change to write. Documents are computed under the write lock from the then-current state,
/// so concurrent writers never build on stale heads.
public struct WriteRequest: Sendable {
    public enum Change: Sendable {
        /// Replace the whole document.
        case put(Document)
        /// Compute the new document from the current one (nil when the record does not exist).
        /// `@Sendable`: with group commit, whichever writer leads the group runs every queued
        /// batch, so the closure may run on another thread than its caller's (which waits).
        case update(@Sendable (Document?) throws(TrellisError) -> Document)
        /// Write a tombstone.
        case delete
    }

    public var repository: String
    public var key: String
    public var change: Change
    /// Explicit parents (replaying a concurrent edit); nil means the key's newest head.
    public var parents: [CommitID]?

    /// Deletes and explicit parents refer to what is already stored.
    var needsExistingRecord: Bool {
        if case .delete = change { return true }
        return !(parents ?? []).isEmpty
    }

    public init(repository: String, key: String, change: Change, parents: [CommitID]? = nil) {
        self.repository = repository
        self.key = key
        self.change = change
        self.parents = parents
    }
}

/// The storage layer of a store directory (docs/format.md §Store layout): identity, write lock,
/// and one append-only log per repository with its in-memory index.
///
/// `@unchecked Sendable`: every mutable member is read and written only while `mutex` is held,
/// except those marked as the group leader's, which only the one thread leading a write group
/// touches (leaders follow one another under `group`, which orders their accesses).
public final class StorageEngine: @unchecked Sendable {
    public static let formatLine = "trellis-store 1\n"

    public let path: String

    /// The store's signing key, read from `identity` the first time something is signed: reading
    /// a store needs read permission only, never the 0600 key file.
    public var identity: SigningKey {
        get throws(TrellisError) {
            mutex.lock()
            defer { mutex.unlock() }
            return try signingKey()
        }
    }
    /// Seconds a writer waits for another process's write lock.
    public var lockTimeout: Double {
        get { mutex.withLock { lockWait } }
        set { mutex.withLock { lockWait = newValue } }
    }

    /// A repository's log is sealed into a pack once it passes this many bytes.
    public var sealThreshold: UInt64 {
        get { mutex.withLock { sealBytes } }
        set { mutex.withLock { sealBytes = newValue } }
    }
    public static let defaultSealThreshold: UInt64 = 16 << 20
    /// Longest delta chain in a pack unless `repack --depth` says otherwise.
    public static let defaultPackDepth = 50

    /// When a write is acknowledged (docs/architecture.md §Durability).
    public enum Durability: String, Sendable, CaseIterable {
        /// After fsync: an acknowledged write survives a power failure. Concurrent writers share fsyncs.
        case full
        /// After write(2); logs are fsynced within `batchedFlushDelay`. A crash of the process
        /// loses nothing; a power failure may lose the last fraction of a second.
        case batched
        /// After write(2); the operating system decides when data reaches the disk.
        case none
    }

    public static let batchedFlushDelay = 0.1

    public var durability: Durability {
        get { mutex.withLock { durabilityMode } }
        set { mutex.withLock { durabilityMode = newValue } }
    }

    private var durabilityMode = Durability.full
    /// fsyncs of logs so far (tests check that group commit shares them).
    var logSyncs: Int { mutex.withLock { syncCount } }
    private var syncCount = 0
    private var unsyncedLogs: Set<String> = []
    private var flushScheduled = false
    /// Group commit: batches waiting for a leader, guarded by `group`.
    private let group = NSCondition()
    private var queued: [GroupJob] = []
    private var leaderActive = false

    private let mutex = NSLock()
    private var sealBytes = StorageEngine.defaultSealThreshold
    /// The group leader's: whether this process removed what interrupted writes left behind.
    private var leftoversRemoved = false
    /// Held for a whole `flush`, so that a flush returns only once every earlier write is durable.
    private let flushing = NSLock()
    /// Raw bytes per pack block; tests make it small to get packs of many blocks.
    var packBlockSize = PackFormat.targetBlockRaw
    /// The group leader's. Opened by the first write, so that a read-only store (or file system)
    /// can be read.
    private var lockFile: FileHandle?
    private var loadedIdentity: SigningKey?
    private var repos: [String: RepositoryIndex] = [:]
    private var clock = HybridLogicalClock()
    private var pendingWarnings: [String] = []
    private var lockWait: Double = 10
    /// Where the group leader works without `mutex`, for tests that read meanwhile.
    enum LeaderStep: Sendable { case waitingForLock, syncing, sealing }
    /// Called by the group leader, without `mutex`, at each `LeaderStep` (tests only).
    var onLeaderStep: (@Sendable (LeaderStep) -> Void)? {
        get { mutex.withLock { leaderStepHook } }
        set { mutex.withLock { leaderStepHook = newValue } }
    }
    private var leaderStepHook: (@Sendable (LeaderStep) -> Void)?

    /// True while the group leader, holding the store's write lock, holds `mutex` (`leaderLocked`).
    private var writeLockHeld = false

    // MARK: Opening

    /// Creates a new, empty store directory.
    public static func create(at path: String) throws(TrellisError) -> StorageEngine {
        let path = FileSystem.absolute(path)
        if FileSystem.exists(path + "/FORMAT") {
            throw TrellisError(.invalidArgument, "a Trellis store already exists at \(path)")
        }
        try FileSystem.makeDirectories(path + "/repos")
        let key: SigningKey
        do { key = try SigningKey.generate() } catch { throw TrellisError(.io, "cannot create an identity key: \(error)") }
        try FileSystem.createExclusive(path + "/identity", Array((Hex.encode(key.seed) + "\n").utf8), mode: 0o600)
        try FileSystem.writeAtomically(path + "/lock", [])
        // FORMAT last: its presence marks a complete store.
        try FileSystem.writeAtomically(path + "/FORMAT", Array(formatLine.utf8))
        return try open(at: path)
    }

    public static func open(at path: String) throws(TrellisError) -> StorageEngine {
        let path = FileSystem.absolute(path)
        guard FileSystem.isDirectory(path) else {
            throw TrellisError(.storeMissing, "no Trellis store at \(path)")
        }
        let format: [UInt8]
        do { format = try FileSystem.readAll(path + "/FORMAT") } catch {
            throw TrellisError(.storeMissing, "no Trellis store at \(path) (\(error.message))")
        }
        guard String(decoding: format, as: UTF8.self) == formatLine else {
            throw TrellisError(.corruptData, "\(path)/FORMAT names an unknown store format")
        }
        let engine = StorageEngine(path: path)
        try engine.loadAll()
        return engine
    }

    private init(path: String) {
        self.path = path
    }

    /// The identity key, loaded once; the caller holds `mutex`.
    private func signingKey() throws(TrellisError) -> SigningKey {
        if let loadedIdentity { return loadedIdentity }
        let identityText: String
        do { identityText = String(decoding: try FileSystem.readAll(path + "/identity"), as: UTF8.self) } catch {
            throw TrellisError(error.code == .notFound ? .storeMissing : .permissionDenied,
                               "cannot read this store's identity key, which signing needs: \(error.message)")
        }
        guard let seed = Hex.decode(identityText.trimmingCharacters(in: .whitespacesAndNewlines)),
              let key = try? SigningKey(seed: seed)
        else { throw TrellisError(.corruptData, "\(path)/identity does not hold a 32-byte hex seed") }
        loadedIdentity = key
        return key
    }

    private func repoDirectory(_ name: String) -> String { path + "/repos/" + name }

    private func loadAll() throws(TrellisError) {
        for name in try FileSystem.list(path + "/repos") { loadIfPresent(name) }
    }

    /// Loads a repository found on disk. A directory without a log is not a repository (a
    /// half-made one, or something else); one that cannot be read is reported and left out,
    /// so that it never stops the others.
    private func loadIfPresent(_ name: String) {
        guard StorageEngine.isValidRepositoryName(name), FileSystem.exists(repoDirectory(name) + "/log") else { return }
        do throws(TrellisError) {
            _ = try loadRepository(name)
        } catch {
            pendingWarnings.append("repository '\(name)' cannot be read: \(error.message)")
        }
    }

    @discardableResult
    private func loadRepository(_ name: String) throws(TrellisError) -> RepositoryIndex {
        let index = try RepositoryIndex(name: name, directory: repoDirectory(name))
        pendingWarnings += index.takeWarnings()
        if let problem = index.log.headerProblem {
            pendingWarnings.append("repository '\(name)': \(problem); its frames were read (run `trellis fsck --repair`)")
        }
        repos[name] = index
        try catchUp(index)
        return index
    }

    /// Reads frames appended since the last look, or the whole repository again when another
    /// process sealed or repacked it. A damaged tail is cut (and reported) only by a process
    /// holding the write lock; otherwise it may be a write still in progress.
    private func catchUp(_ index: RepositoryIndex) throws(TrellisError) {
        if try index.log.changedUnderneath() {
            try reloadRepository(index.name)
            return
        }
        let scan = try index.log.scanNewFrames()
        for d in scan.skipped {
            pendingWarnings.append(
                "repository '\(index.name)': skipped \(d.length) damaged log bytes at offset \(d.offset) (\(d.reason)); the frames after them were read (run `trellis fsck --repair`)")
        }
        if scan.frames.count > 1 { index.reserve(scan.frames.reduce(0) { $0 + $1.contents.entries.count }) }
        for frame in scan.frames {
            try index.add(frame: frame.contents, at: frame.offset)
            for e in frame.contents.entries { clock.observe(e.header.timestamp) }
        }
        // Readers never change the store: the next writer cuts the tail.
        guard let bad = scan.badTail, writeLockHeld else { return }
        let side = try index.log.cutTail(at: bad.offset)
        pendingWarnings.append(
            "repository '\(index.name)': cut a damaged log tail of \(bad.length) bytes at offset \(bad.offset) (\(bad.reason)); the bytes were kept in \(side)")
    }

    /// Warnings about repairs made since the last call (cut tails), for the CLI to print.
    public func takeWarnings() -> [String] {
        mutex.withLock {
            defer { pendingWarnings = [] }
            return pendingWarnings
        }
    }

    // MARK: Names

    public static func isValidRepositoryName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), bytes[0] != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x2D || b == 0x5F
        }
    }

    static func checkRepositoryName(_ name: String) throws(TrellisError) {
        guard isValidRepositoryName(name) else {
            throw TrellisError(.invalidArgument,
                "invalid repository name '\(name)': use 1-64 letters, digits, '.', '-' or '_', not starting with '.'")
        }
    }

    static func checkKey(_ key: String) throws(TrellisError) {
        guard !key.isEmpty, key.utf8.count <= Commit.maxNameBytes, !key.utf8.contains(0) else {
            throw TrellisError(.invalidArgument, "invalid key: keys are 1-\(Commit.maxNameBytes) bytes of UTF-8 without NUL")
        }
    }

    // MARK: Reading

    private func repository(_ name: String) throws(TrellisError) -> RepositoryIndex {
        guard let index = try existingRepository(name) else {
            throw TrellisError(.notFound, "unknown repository '\(name)'")
        }
        return index
    }

    /// The repository's index, caught up (and loaded when another process created it), or nil.
    private func existingRepository(_ name: String) throws(TrellisError) -> RepositoryIndex? {
        if let index = repos[name] {
            try catchUp(index)
            return repos[name] ?? index  // catching up may have reloaded it
        }
        guard StorageEngine.isValidRepositoryName(name), FileSystem.exists(repoDirectory(name) + "/log") else { return nil }
        return try loadRepository(name)
    }

    /// Marks the thread running a write group, so that a write closure calling back into the
    /// same engine (which would wait for itself forever) stops with a clear message instead.
    private static let writingKey = "org.trellis.engine-writing"

    private func refuseReentry(_ what: String) {
        if let writing = Thread.current.threadDictionary[Self.writingKey] as? UInt, writing == UInt(bitPattern: ObjectIdentifier(self)) {
            preconditionFailure("Trellis: a write closure called back into its store (\(what)); read what you need before writing, or use the document the closure is given")
        }
    }

    private func reading<T>(_ body: () throws(TrellisError) -> T) throws(TrellisError) -> T {
        refuseReentry("a read")
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }

    public func repositoryNames() throws(TrellisError) -> [String] {
        try reading { () throws(TrellisError) in
            for name in try FileSystem.list(path + "/repos") where repos[name] == nil { loadIfPresent(name) }
            return repos.keys.sorted()
        }
    }

    public func keys(in repo: String) throws(TrellisError) -> [String] {
        try reading { () throws(TrellisError) in try repository(repo).liveKeys() }
    }

    /// The repository's in-memory index, caught up (tests and maintenance).
    func withIndex<T>(_ repo: String, _ body: (RepositoryIndex) throws(TrellisError) -> T) throws(TrellisError) -> T {
        try reading { () throws(TrellisError) in try body(try repository(repo)) }
    }

    /// Counts and sizes of a repository; reads all of its history.
    public func stats(_ repo: String) throws(TrellisError) -> RepositoryStats {
        try reading { () throws(TrellisError) in try RepositoryStats.measure(try repository(repo)) }
    }

    /// The heads of a record, newest first. Throws when the key has never been written.
    public func heads(_ repo: String, _ key: String) throws(TrellisError) -> [CommitInfo] {
        try reading { () throws(TrellisError) in
            let heads = try repository(repo).heads(of: key)
            guard !heads.isEmpty else { throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repo)'") }
            return heads
        }
    }

    /// The newest head of a record and its document; the document is nil when that head deletes it.
    public func current(_ repo: String, _ key: String) throws(TrellisError) -> (CommitInfo, Document?) {
        try reading { () throws(TrellisError) in
            guard let c = try repository(repo).current(key) else {
                throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repo)'")
            }
            return c
        }
    }

    /// The record's document as every peer holding its heads sees it: the newest head's, or,
    /// with several heads, their merge computed in memory (nothing is written). nil when deleted.
    public func merged(_ repo: String, _ key: String) throws(TrellisError) -> Document? {
        try reading { () throws(TrellisError) in
            let index = try repository(repo)
            let heads = try index.heads(of: key)
            guard !heads.isEmpty else { throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repo)'") }
            guard heads.count > 1 else { return try index.document(of: heads[0].id) }
            return try HeadMerge.mergeCommit(repository: repo, key: key, heads: heads.map(\.id), source: index).commit.document
        }
    }

    /// Commits newest first: of one key, or of the whole repository; at most `limit` of them.
    public func history(_ repo: String, key: String? = nil, limit: Int? = nil) throws(TrellisError) -> [CommitInfo] {
        try reading { () throws(TrellisError) in
            let index = try repository(repo)
            let infos: [CommitInfo]
            if let key {
                guard let found = try index.history(of: key) else {
                    throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repo)'")
                }
                infos = found
            } else {
                infos = try index.allCommits()
            }
            return CommitInfo.newestFirst(infos, limit: limit)
        }
    }

    /// A stored commit, read from its frame on disk.
    public func commit(_ id: CommitID) throws(TrellisError) -> SignedCommit {
        try reading { () throws(TrellisError) in try lookUp(id) { index throws(TrellisError) in try index.signedCommit(id) } }
    }

    public func info(_ id: CommitID) throws(TrellisError) -> CommitInfo {
        try reading { () throws(TrellisError) in try lookUp(id) { index throws(TrellisError) in try index.info(id) } }
    }

    /// Finds a commit in what this process has read, or else after reading what other
    /// processes wrote since (into any repository, new ones included).
    private func lookUp<T>(_ id: CommitID, _ find: (RepositoryIndex) throws(TrellisError) -> T?) throws(TrellisError) -> T {
        for index in repos.values { if let found = try find(index) { return found } }
        for name in try FileSystem.list(path + "/repos").sorted() {
            guard let index = try? existingRepository(name) else { continue }  // unreadable ones were reported
            if let found = try find(index) { return found }
        }
        throw TrellisError(.notFound, "unknown commit \(id.short)")
    }

    // MARK: Sync support (docs/sync.md)

    /// A repository's heads and the end of its arrival numbers, read together (both empty for a
    /// repository this store does not hold).
    public struct SyncView: Sendable {
        public let seqEnd: UInt64
        public let heads: [CommitID]
    }

    public func syncView(_ repo: String) throws(TrellisError) -> SyncView {
        try reading { () throws(TrellisError) in
            guard let index = try existingRepository(repo) else { return SyncView(seqEnd: 0, heads: []) }
            return SyncView(seqEnd: index.seqEnd, heads: index.allHeadIDs())
        }
    }

    /// Commits of a repository that arrived at or after arrival number `start`, parents first.
    public func ids(in repo: String, arrivedSince start: UInt64) throws(TrellisError) -> [CommitID] {
        try arrivals(in: repo, since: start).ids
    }

    /// The same, with the arrival end they were read at (the next call can start there).
    public func arrivals(in repo: String, since start: UInt64) throws(TrellisError) -> (ids: [CommitID], end: UInt64) {
        try reading { () throws(TrellisError) in
            guard let index = try existingRepository(repo) else { return ([], 0) }
            return (try index.ids(arrivedSince: start), index.seqEnd)
        }
    }

    /// Which of these commits a repository holds, under one look at the store.
    public func stored(_ ids: Set<CommitID>, in repo: String) throws(TrellisError) -> Set<CommitID> {
        try reading { () throws(TrellisError) in
            guard let index = try existingRepository(repo) else { return [] }
            return ids.filter(index.contains)
        }
    }

    /// Stored commits of one repository, in the order asked.
    public func commits(in repo: String, _ ids: [CommitID]) throws(TrellisError) -> [SignedCommit] {
        try reading { () throws(TrellisError) in
            try repository(repo).signedCommits(ids)
        }
    }

    /// A full id from hex: all 64 digits, or a unique prefix of at least 4, as git accepts.
    public func resolve(_ text: String) throws(TrellisError) -> CommitID {
        let hex = text.lowercased()
        guard hex.count >= 4, hex.count <= 64, hex.allSatisfy(\.isHexDigit) else {
            throw TrellisError(.invalidArgument, "'\(text)' is not a commit id (4 to 64 hex digits)")
        }
        if hex.count == 64, let id = CommitID(hex: hex) {
            _ = try info(id)
            return id
        }
        return try reading { () throws(TrellisError) in
            var found: [CommitID] = []
            for index in repos.values { found += index.ids(withHexPrefix: hex) }
            guard found.count <= 1 else { throw TrellisError(.invalidArgument, "commit prefix '\(text)' is ambiguous") }
            guard let id = found.first else { throw TrellisError(.notFound, "unknown commit \(text)") }
            return id
        }
    }

    // MARK: Writing

    /// The commits a write collects before they go to disk: one frame per repository.
    private struct Batch {
        var staged: [String: [SignedCommit]] = [:]
        var created: [String] = []

        /// Adds a commit to the index (readable at once, inside the batch) and to its frame.
        mutating func stage(_ commit: SignedCommit, in index: RepositoryIndex) throws(TrellisError) {
            if let damage = index.damage {
                throw TrellisError(.corruptData,
                    "repository '\(index.name)' is damaged (\(damage)); writes are refused until `trellis fsck --repair`, so that no record restarts from a lost version")
            }
            if try index.add(pending: commit, frameOffset: index.log.validEnd) {
                staged[index.name, default: []].append(commit)
            }
        }
    }

    /// One caller's write batch, queued for the next group commit.
    private final class GroupJob {
        /// Dropped as soon as the job has run, so the caller's closure never outlives its call.
        var run: (@Sendable (inout Batch) throws(TrellisError) -> Void)?
        var error: TrellisError?
        var done = false
        init(_ run: @escaping @Sendable (inout Batch) throws(TrellisError) -> Void) { self.run = run }
    }

    /// Runs `body` as one all-or-nothing batch: under the write lock, after reading what other
    /// writers appended, it stages commits that are then appended as one frame per repository.
    /// Batches of concurrent callers are group-committed: one caller (the leader) runs every
    /// queued batch, appends their frames, and one fsync per log covers them all, so
    /// concurrent writers share an fsync. Each caller returns only once its frames are durable
    /// (in `full` mode). A batch that fails leaves no trace and does not affect the others.
    private func writeBatch<T: Sendable>(_ body: @Sendable (inout Batch) throws(TrellisError) -> T) throws(TrellisError) -> T {
        let result = Mutex<T?>(nil)
        var failure: TrellisError?
        withoutActuallyEscaping(body) { body in
            let job = GroupJob { (batch: inout Batch) throws(TrellisError) in
                let value = try body(&batch)
                result.withLock { $0 = value }
            }
            commitInGroup(job)
            failure = job.error
        }
        if let failure { throw failure }
        // safe: a job without an error ran to completion and set its result.
        return result.withLock { $0! }
    }

    /// Queues a job and returns once a group containing it has run (led by this thread or another).
    private func commitInGroup(_ job: GroupJob) {
        refuseReentry("a write")
        group.lock()
        queued.append(job)
        while !job.done {
            if leaderActive {
                group.wait()
                continue
            }
            leaderActive = true
            let jobs = queued
            queued = []
            group.unlock()
            runGroup(jobs)
            group.lock()
            // Published under the same lock the followers read it under, after every write
            // of the group (and its fsync) is done.
            for job in jobs {
                job.run = nil
                job.done = true
            }
            leaderActive = false
            group.broadcast()
        }
        group.unlock()
    }

    /// Runs the queued jobs as their group's leader. The store's write lock is awaited without
    /// `mutex`; the jobs run and append under it; the fsync and any seal run without it again,
    /// so that readers in this process wait only for the steps that change the index.
    private func runGroup(_ jobs: [GroupJob]) {
        let lock: FileHandle
        do throws(TrellisError) {
            lock = try takeWriteLock()
        } catch {
            for job in jobs { job.error = error }
            return
        }
        defer { lock.unlock() }
        let written = writeJobs(jobs)
        do throws(TrellisError) {
            switch written.mode {
            case .full:
                if !written.logs.isEmpty { onLeaderStep?(.syncing) }
                for log in written.logs { try log.sync() }
                mutex.withLock { syncCount += written.logs.count }
            case .batched, .none:
                guard !written.touched.isEmpty else { break }
                mutex.withLock {
                    unsyncedLogs.formUnion(written.touched)
                    if written.mode == .batched { scheduleFlush() }
                }
            }
        } catch {
            for job in written.committed { job.error = TrellisError(error.code, "the write may not be durable: \(error.message)") }
            return
        }
        for name in written.touched.sorted() { maintainAfterWrite(name) }
    }

    /// The jobs' commits, staged and appended under `mutex` (not yet fsynced).
    private func writeJobs(_ jobs: [GroupJob]) -> (touched: Set<String>, committed: [GroupJob], mode: Durability, logs: [FileHandle]) {
        leaderLocked {
            Thread.current.threadDictionary[Self.writingKey] = UInt(bitPattern: ObjectIdentifier(self))
            defer { Thread.current.threadDictionary[Self.writingKey] = nil }
            var touched: Set<String> = []
            var committed: [GroupJob] = []
            for job in jobs {
                do throws(TrellisError) {
                    for index in repos.values { try catchUp(index) }
                    touched.formUnion(try runJob(job))
                    committed.append(job)
                } catch {
                    job.error = error
                }
            }
            let logs = touched.sorted().compactMap { repos[$0]?.log.handle }
            return (touched, committed, durabilityMode, logs)
        }
    }

    /// Runs `body` under `mutex` as the group leader, which holds the store's write lock: only
    /// here may catching up cut a damaged log tail (readers never change the store).
    private func leaderLocked<T>(_ body: () throws(TrellisError) -> T) throws(TrellisError) -> T {
        mutex.lock()
        writeLockHeld = true
        defer {
            writeLockHeld = false
            mutex.unlock()
        }
        return try body()
    }

    private func leaderLocked<T>(_ body: () -> T) -> T {
        mutex.lock()
        writeLockHeld = true
        defer {
            writeLockHeld = false
            mutex.unlock()
        }
        return body()
    }

    /// `leaderLocked` in the shape that seal and repack take.
    private func leaderStep(_ step: () throws(TrellisError) -> Void) throws(TrellisError) {
        try leaderLocked(step)
    }

    /// Runs `body` as the only writer of this process (the group leader) with the store's write
    /// lock, for maintenance that runs its long steps without `mutex` (repack).
    private func asLeader<T>(_ body: () throws(TrellisError) -> T) throws(TrellisError) -> T {
        refuseReentry("a repack")
        group.lock()
        while leaderActive { group.wait() }
        leaderActive = true
        group.unlock()
        defer {
            group.lock()
            leaderActive = false
            group.broadcast()
            group.unlock()
        }
        let lock = try takeWriteLock()
        defer { lock.unlock() }
        try leaderLocked { () throws(TrellisError) in
            for index in repos.values { try catchUp(index) }
        }
        return try body()
    }

    /// Stages one job's commits and appends its frames (not yet fsynced). On failure, the
    /// in-memory state is reloaded from disk and a repository the job created is removed.
    private func runJob(_ job: GroupJob) throws(TrellisError) -> Set<String> {
        var batch = Batch()
        var appended: Set<String> = []
        do throws(TrellisError) {
            try job.run?(&batch)
            for (name, unsigned) in batch.staged.sorted(by: { $0.key < $1.key }) {
                guard let index = repos[name] else { continue }
                var commits = unsigned
                // Only commits that need an author's signature ask for the identity key.
                if commits.contains(where: { $0.signature.isEmpty && $0.commit.author != nil }) {
                    SignedCommit.signAll(&commits, with: try signingKey())
                }
                _ = try index.log.append(try Frame.encode(commits), sync: false)
                index.markWritten()
                appended.insert(name)
            }
            return appended
        } catch {
            for name in batch.created where !appended.contains(name) { removeEmptyRepository(name) }
            for name in batch.staged.keys where !batch.created.contains(name) || appended.contains(name) {
                try? reloadRepository(name)
            }
            throw error
        }
    }

    /// `batched` mode: logs written since the last flush are fsynced within `batchedFlushDelay`.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        DispatchQueue.global().asyncAfter(deadline: .now() + StorageEngine.batchedFlushDelay) { [weak self] in
            self?.flush()
        }
    }

    /// Fsyncs every log written since the last flush (`batched` and `none` modes); returns
    /// once they are durable. The fsyncs run without `mutex`, one flush at a time.
    public func flush() {
        flushing.withLock {
            let logs: [(String, FileHandle)] = mutex.withLock {
                flushScheduled = false
                defer { unsyncedLogs = [] }
                return unsyncedLogs.sorted().compactMap { name in repos[name].map { (name, $0.log.handle) } }
            }
            var failures: [String] = []
            for (name, log) in logs {
                do throws(TrellisError) { try log.sync() } catch { failures.append("repository '\(name)': \(error.message)") }
            }
            mutex.withLock {
                syncCount += logs.count - failures.count
                pendingWarnings += failures
            }
        }
    }

    /// Seals a log that passed the threshold and rewrites a stale checkpoint. The write is
    /// already durable, so a failure here is reported as a warning, not as a failed write.
    private func maintainAfterWrite(_ name: String) {
        let (found, blockSize) = leaderLocked { () -> (RepositoryIndex?, Int) in
            guard let index = repos[name], index.log.validEnd >= sealBytes || !index.checkpointIsCurrent else { return (nil, 0) }
            return (index, packBlockSize)
        }
        // A checkpoint covers packs only, so a stale one is replaced by sealing the log.
        guard let index = found else { return }
        do throws(TrellisError) {
            _ = try PackMaintenance.seal(index, depth: PackFormat.defaultDepth, blockSize: blockSize, locked: leaderStep,
                                         building: { onLeaderStep?(.sealing) })
        } catch {
            leaderLocked {
                pendingWarnings.append("repository '\(name)': could not seal the log: \(error.message)")
                Leftovers.remove(Leftovers.find(inRepository: index.directory))
                try? reloadRepository(name)
            }
        }
    }

    /// Rewrites each repository (all when `repositories` is empty) into one pack with deltas
    /// of at most `depth` links, then removes the old packs and empties the log. Readers keep
    /// reading the old packs while the new one is built and written.
    public func repack(_ repositories: [String] = [], depth: Int = StorageEngine.defaultPackDepth) throws(TrellisError) -> [PackReport] {
        guard (0...10_000).contains(depth) else { throw TrellisError(.invalidArgument, "depth must be 0 to 10000") }
        let names = repositories.isEmpty ? try repositoryNames() : repositories
        return try asLeader { () throws(TrellisError) in
            var reports: [PackReport] = []
            for name in names {
                let (found, blockSize) = leaderLocked { (repos[name], packBlockSize) }
                guard let index = found else { throw TrellisError(.notFound, "unknown repository '\(name)'") }
                do throws(TrellisError) {
                    reports.append(try PackMaintenance.repack(index, depth: depth, blockSize: blockSize, locked: leaderStep,
                                                              building: { onLeaderStep?(.sealing) }))
                } catch {
                    leaderLocked { try? reloadRepository(name) }
                    throw error
                }
            }
            return reports
        }
    }

    /// Writes the changes in one durable batch per repository: one frame, one fsync.
    /// Returns the new commits in request order once they are on disk.
    @discardableResult
    public func write(_ requests: [WriteRequest]) throws(TrellisError) -> [CommitInfo] {
        try writeBatch { (batch: inout Batch) throws(TrellisError) in
            var results: [CommitInfo] = []
            for request in requests {
                let (index, isNew) = try repositoryForWriting(request.repository, mustExist: request.needsExistingRecord)
                if isNew { batch.created.append(request.repository) }
                // A change on top of several heads builds on their merge, written in the same frame.
                if request.parents == nil, let merge = try mergeCommit(index, request.key) {
                    try batch.stage(merge, in: index)
                }
                let commit = try makeCommit(request, index: index)
                try batch.stage(commit, in: index)
                results.append(try indexInfo(index, commit.id))
            }
            return results
        }
    }

    /// The merge commit of a key's heads, or nil when it has one head.
    private func mergeCommit(_ index: RepositoryIndex, _ key: String) throws(TrellisError) -> SignedCommit? {
        let heads = try index.heads(of: key)
        guard heads.count > 1 else { return nil }
        let outcome = try HeadMerge.mergeCommit(repository: index.name, key: key, heads: heads.map(\.id), source: index)
        return SignedCommit.merge(outcome.commit)
    }

    /// Merges a key's heads into one merge commit, written durably, and returns the single head.
    /// Two stores holding the same heads write byte-identical merge commits.
    @discardableResult
    public func mergeHeads(_ repo: String, _ key: String) throws(TrellisError) -> CommitInfo {
        let heads = try self.heads(repo, key)
        guard heads.count > 1 else { return heads[0] }
        return try writeBatch { (batch: inout Batch) throws(TrellisError) in
            // Already caught up under the write lock; `repository(_:)` would look again without it.
            guard let index = repos[repo] else { throw TrellisError(.notFound, "unknown repository '\(repo)'") }
            if let merge = try mergeCommit(index, key) { try batch.stage(merge, in: index) }
            // safe: the key had heads before, and a merge only replaces them with one.
            return try index.heads(of: key)[0]
        }
    }

    /// Writes one merge commit for each record of `repo` with several heads, in one batch.
    public func mergeAllHeads(_ repo: String) throws(TrellisError) -> [CommitInfo] {
        _ = try withIndex(repo) { _ in () }  // unknown repository: a clear error
        return try writeBatch { (batch: inout Batch) throws(TrellisError) in
            guard let index = repos[repo] else { throw TrellisError(.notFound, "unknown repository '\(repo)'") }
            var out: [CommitInfo] = []
            for key in index.keysWithSeveralHeads() {
                if let merge = try mergeCommit(index, key) {
                    try batch.stage(merge, in: index)
                    out.append(try indexInfo(index, merge.id))
                }
            }
            return out
        }
    }

    /// The conflicts that each merge commit of a repository (or of one key) resolved, newest
    /// first. Merges are deterministic, so they are recomputed rather than stored.
    public func conflicts(_ repo: String, key: String? = nil) throws(TrellisError) -> [(CommitInfo, [MergeConflict])] {
        let merges = try history(repo, key: key).filter { $0.kind.isMerge }
        return try reading { () throws(TrellisError) in
            let index = try repository(repo)
            var out: [(CommitInfo, [MergeConflict])] = []
            for m in merges {
                let outcome = try HeadMerge.mergeCommit(repository: repo, key: m.key, heads: m.parents, source: index)
                if !outcome.conflicts.isEmpty { out.append((m, outcome.conflicts)) }
            }
            return out
        }
    }

    /// Stores commits made elsewhere, all or nothing. Each is re-hashed and its signature checked;
    /// each merge commit is recomputed from its parents and must match byte for byte. Parents must
    /// be stored already or come earlier in the batch.
    public func receive(_ commits: [SignedCommit]) throws(TrellisError) {
        try receive(encoded: commits.map { ($0.encoded, $0.signature) })
    }

    /// Batches at least this large are verified on every core (about 18 ms of Ed25519 work).
    static let parallelVerifyMinimum = 256

    /// `receive` for commits as they travel: encodings and signatures, verified here.
    public func receive(encoded commits: [(encoded: [UInt8], signature: [UInt8])]) throws(TrellisError) {
        // Hashes, decoding and signatures depend on nothing stored: checked first, on every core,
        // without the lock, so that other sessions keep reading while a large push is verified.
        // Small batches (most pushes) are checked in line: spreading them costs more than it saves.
        let check = { @Sendable (c: (encoded: [UInt8], signature: [UInt8])) in
            Result { () throws(TrellisError) in try SignedCommit.verify(encoded: c.encoded, signature: c.signature) }
        }
        let checked = commits.count >= Self.parallelVerifyMinimum ? Parallel.map(commits, check) : commits.map(check)
        var verifiedCommits: [SignedCommit] = []
        verifiedCommits.reserveCapacity(checked.count)
        for result in checked { verifiedCommits.append(try result.get()) }
        try writeBatch { [verifiedCommits] (batch: inout Batch) throws(TrellisError) in
            for verified in verifiedCommits {
                try StorageEngine.checkKey(verified.commit.key)
                let (index, isNew) = try repositoryForWriting(verified.commit.repository, mustExist: false)
                if isNew { batch.created.append(index.name) }
                guard !index.contains(verified.id) else { continue }
                for p in verified.commit.parents {
                    guard let parent = try index.info(p), parent.key == verified.commit.key else {
                        throw TrellisError(.notFound, "commit \(verified.id.short) names a parent \(p.short) that is not stored")
                    }
                }
                if verified.commit.kind.isMerge {
                    let recomputed = try HeadMerge.mergeCommit(
                        repository: index.name, key: verified.commit.key, heads: verified.commit.parents, source: index)
                    guard recomputed.commit.encoded() == verified.encoded else {
                        throw TrellisError(.badSignature, "merge commit \(verified.id.short) does not match the merge of its parents")
                    }
                }
                clock.observe(verified.commit.timestamp)
                try batch.stage(verified, in: index)
            }
        }
    }

    private func indexInfo(_ index: RepositoryIndex, _ id: CommitID) throws(TrellisError) -> CommitInfo {
        guard let info = try index.info(id) else { throw TrellisError(.corruptData, "commit \(id.short) vanished from the index") }
        return info
    }

    private func reloadRepository(_ name: String) throws(TrellisError) {
        repos[name] = nil
        try loadRepository(name)
    }

    /// Takes the store's write lock and returns the locked file. Only the group leader calls
    /// this, without `mutex`, so readers keep reading while it waits for another process.
    private func takeWriteLock() throws(TrellisError) -> FileHandle {
        let lockFile: FileHandle
        if let open = self.lockFile {
            lockFile = open
        } else {
            lockFile = try FileHandle(path: path + "/lock", flags: O_RDWR | O_CREAT, mode: 0o644)
            self.lockFile = lockFile
        }
        let wait = mutex.withLock { lockWait }
        let deadline = Date().addingTimeInterval(wait)
        while !(try lockFile.lock(exclusive: true, wait: false)) {
            onLeaderStep?(.waitingForLock)
            guard Date() < deadline else {
                throw TrellisError(.storeLocked,
                    "the store at \(path) is locked by another writer; gave up after \(wait) seconds")
            }
            FileSystem.sleep(millis: 5)
        }
        if !leftoversRemoved {
            // What writes interrupted before this process started (a kill, a full disk).
            Leftovers.remove(Leftovers.find(inStore: path))
            leftoversRemoved = true
        }
        return lockFile
    }

    /// The repository's index, creating the repository when it does not exist (true when new).
    private func repositoryForWriting(_ name: String, mustExist: Bool) throws(TrellisError) -> (RepositoryIndex, Bool) {
        try StorageEngine.checkRepositoryName(name)
        if let index = repos[name] { return (index, false) }
        let dir = repoDirectory(name)
        var isNew = false
        if !FileSystem.exists(dir + "/log") {
            guard !mustExist else { throw TrellisError(.notFound, "unknown repository '\(name)'") }
            try createRepositoryDirectory(name)
            isNew = true
        }
        return (try loadRepository(name), isNew)
    }

    /// Builds the repository aside (`repos/.new-NAME-PID`, which no reader lists) and renames
    /// it into place, so that a repository is either absent or whole, whenever a crash or a
    /// full disk interrupts. An empty directory in the way (half-made by an older version, or
    /// made by hand) is replaced; anything else in it is left alone and the write refused.
    private func createRepositoryDirectory(_ name: String) throws(TrellisError) {
        let dir = repoDirectory(name)
        let aside = path + "/repos/.new-\(name)-\(getpid())"
        FileSystem.removeFlatDirectory(aside)
        do throws(TrellisError) {
            try FileSystem.makeDirectory(aside)
            try LogFile.create(path: aside + "/log")
            try FileSystem.syncDirectory(aside)
        } catch {
            FileSystem.removeFlatDirectory(aside)
            throw error
        }
        if rename(aside, dir) != 0 {
            let reason = errno
            FileSystem.removeFlatDirectory(aside)
            if reason == ENOTEMPTY || reason == EEXIST {
                throw TrellisError(.corruptData,
                    "\(dir) exists but holds no log: it is not a repository; move it away to create '\(name)'")
            }
            throw TrellisError(.io, "cannot create repository \(dir): \(String(cString: strerror(reason)))")
        }
        try FileSystem.syncDirectory(path + "/repos")
    }

    private func removeEmptyRepository(_ name: String) {
        repos[name] = nil
        let dir = repoDirectory(name)
        unlink(dir + "/log")
        rmdir(dir)
        try? FileSystem.syncDirectory(path + "/repos")
    }

    private func makeCommit(_ request: WriteRequest, index: RepositoryIndex) throws(TrellisError) -> SignedCommit {
        try StorageEngine.checkKey(request.key)
        let parents: [CommitID]
        let base: Document?
        if let explicit = request.parents {
            for p in explicit {
                guard let info = try index.info(p), info.key == request.key else {
                    throw TrellisError(.notFound, "parent \(p.short) is not a commit of '\(request.key)' in repository '\(index.name)'")
                }
            }
            parents = explicit
            // Several explicit parents: the new version builds on their merge.
            base = explicit.count == 1
                ? try index.document(of: explicit[0])
                : try HeadMerge.mergeCommit(repository: index.name, key: request.key, heads: explicit, source: index).commit.document
        } else if let (head, doc) = try index.current(request.key) {
            parents = [head.id]
            base = doc
        } else {
            parents = []
            base = nil
        }
        let kind: Commit.Kind
        let document: Document?
        switch request.change {
        case .put(let d):
            kind = .put
            document = d
        case .update(let f):
            kind = .put
            document = try f(base)
        case .delete:
            guard base != nil else {
                throw TrellisError(.notFound, parents.isEmpty
                    ? "unknown key '\(request.key)' in repository '\(index.name)'"
                    : "'\(request.key)' in repository '\(index.name)' is already deleted")
            }
            kind = .delete
            document = nil
        }
        try document?.validate()
        let key = try signingKey()
        let commit = Commit(kind: kind, repository: index.name, key: request.key, parents: parents,
                            timestamp: clock.tick(physicalMillis: FileSystem.nowMillis()), author: key.publicKey,
                            document: document)
        return SignedCommit.unsigned(commit, author: key)
    }
}
