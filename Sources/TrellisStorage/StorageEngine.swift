#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import TrellisCore
import TrellisCrypto

/// The storage layer of a store directory (docs/format.md §Store layout): identity, write lock,
/// and one append-only log per repository with its in-memory index.
///
/// The engine is one class in files by concern: this one (state, opening, identity, catching up
/// with other processes), `+Reading` (reads and the index), `+Writing` (requests, transactions,
/// merges), `+Receiving` (receipt and verification), `+GroupCommit` (the write group's leader,
/// the write lock, fsync), `+Maintenance` (seal and repack) and `+Settings`. Its members
/// are internal, not private, only so that those files can share them.
///
/// `@unchecked Sendable`: every mutable member is read and written only while `mutex` is held,
/// except those marked as the group leader's, which only the one thread leading a write group
/// touches (leaders follow one another under `group`, which orders their accesses).
@usableFromInline
package final class StorageEngine: @unchecked Sendable {
    /// The `FORMAT` file of each store format this build reads (docs/format.md §Store formats).
    package static let formatLines: [Int: String] = [1: "trellis-store 1\n", 2: "trellis-store 2\n", 3: "trellis-store 3\n"]
    /// The format new stores are made in.
    package static let currentFormat = 3

    /// The store format version named by the store's `FORMAT` file; an error for one this build does not read.
    package static func formatVersion(ofStoreAt path: String) throws(TrellisError) -> Int {
        let bytes = try FileSystem.readAll(path + "/FORMAT")
        let line = String(decoding: bytes, as: UTF8.self)
        guard let version = formatLines.first(where: { $0.value == line })?.key else {
            throw TrellisError(.corruptData, "\(path)/FORMAT names an unknown store format")
        }
        return version
    }

    package let path: String

    /// The store's format version: 1 keeps every author's signature on every commit; 2 drops
    /// the signatures that a later commit by the same author covers (docs/format.md §Covered
    /// signatures); 3 also writes compact pack indexes and checkpoints (§Store formats).
    package var format: Int { mutex.withLock { formatVersion } }
    var formatVersion: Int

    /// The store's signing key, read from `identity` the first time something is signed: reading
    /// a store needs read permission only, never the 0600 key file.
    package var identity: SigningKey {
        get throws(TrellisError) {
            mutex.lock()
            defer { mutex.unlock() }
            return try signingKey()
        }
    }
    /// Seconds a writer waits for another process's write lock.
    package var lockTimeout: Double {
        get { mutex.withLock { lockWait } }
        set { mutex.withLock { lockWait = newValue } }
    }

    /// A repository's log is sealed into a pack once it passes this many bytes.
    package var sealThreshold: UInt64 {
        get { mutex.withLock { sealBytes } }
        set { mutex.withLock { sealBytes = newValue } }
    }
    @usableFromInline package static let defaultSealThreshold: UInt64 = 16 << 20
    /// Longest delta chain in a pack unless `repack --depth` says otherwise.
    @usableFromInline package static let defaultPackDepth = 50

    package typealias Durability = TrellisStorage.Durability

    package static let batchedFlushDelay = 0.1

    package var durability: Durability {
        get { mutex.withLock { durabilityMode } }
        set { mutex.withLock { durabilityMode = newValue } }
    }

    var durabilityMode = Durability.full
    /// fsyncs of logs so far (tests check that group commit shares them).
    var logSyncs: Int { mutex.withLock { syncCount } }
    var syncCount = 0
    var unsyncedLogs: Set<String> = []
    var flushScheduled = false
    /// Group commit: batches waiting for a leader.
    let group = GroupCommit<GroupJob>()

    let mutex = NSLock()
    var sealBytes = StorageEngine.defaultSealThreshold
    /// The group leader's: whether this process removed what interrupted writes left behind.
    var leftoversRemoved = false
    /// Held for a whole `flush`, so that a flush returns only once every earlier write is durable.
    let flushing = NSLock()
    /// Raw bytes per pack block; tests make it small to get packs of many blocks.
    var packBlockSize = PackFormat.targetBlockRaw
    /// The group leader's. Opened by the first write, so that a read-only store (or file system)
    /// can be read.
    var lockFile: FileHandle?
    var loadedIdentity: SigningKey?
    var repos: [String: RepositoryIndex] = [:]
    var clock = HybridLogicalClock()
    var pendingWarnings: [String] = []
    var warningHandler: (@Sendable (String) -> Void)?
    var lockWait: Double = 10
    /// Called after each write group with the repositories it wrote (durable in `full` mode),
    /// for local change streams; behind its own lock, so that observers never wait for `mutex`.
    let commitObservers = CommitObservers()

    /// Registers `observer`, called with the names of the repositories each write group of this
    /// engine changed (not other processes'), on the writer's thread; returns its token.
    package func observeCommits(_ observer: @escaping @Sendable (Set<String>) -> Void) -> UInt64 {
        commitObservers.add(observer)
    }

    package func stopObservingCommits(_ token: UInt64) { commitObservers.remove(token) }

    /// Where the group leader works without `mutex`, for tests that read meanwhile.
    enum LeaderStep: Sendable { case waitingForLock, syncing, sealing }
    /// Called by the group leader, without `mutex`, at each `LeaderStep` (tests only).
    var onLeaderStep: (@Sendable (LeaderStep) -> Void)? {
        get { mutex.withLock { leaderStepHook } }
        set { mutex.withLock { leaderStepHook = newValue } }
    }
    var leaderStepHook: (@Sendable (LeaderStep) -> Void)?

    /// True while the group leader, holding the store's write lock, holds `mutex` (`leaderLocked`).
    var writeLockHeld = false

    // MARK: Opening

    /// Creates a new, empty store directory.
    package static func create(at path: String) throws(TrellisError) -> StorageEngine {
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
        try FileSystem.writeAtomically(path + "/FORMAT", Array((formatLines[currentFormat] ?? "").utf8))
        return try open(at: path)
    }

    package static func open(at path: String) throws(TrellisError) -> StorageEngine {
        let path = FileSystem.absolute(path)
        guard FileSystem.isDirectory(path) else {
            throw TrellisError(.storeMissing, "no Trellis store at \(path)")
        }
        guard FileSystem.exists(path + "/FORMAT") else {
            throw TrellisError(.storeMissing, "no Trellis store at \(path) (no FORMAT file)")
        }
        let engine = StorageEngine(path: path, format: try formatVersion(ofStoreAt: path))
        try engine.loadAll()
        return engine
    }

    private init(path: String, format: Int) {
        self.path = path
        self.formatVersion = format
    }

    /// The identity key, loaded once; the caller holds `mutex`.
    func signingKey() throws(TrellisError) -> SigningKey {
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

    func repoDirectory(_ name: String) -> String { path + "/repos/" + name }

    func loadAll() throws(TrellisError) {
        for name in try FileSystem.list(path + "/repos") { loadIfPresent(name) }
    }

    /// Loads a repository found on disk. A directory without a log is not a repository (a
    /// half-made one, or something else); one that cannot be read is reported and left out,
    /// so that it never stops the others.
    func loadIfPresent(_ name: String) {
        guard StorageEngine.isValidRepositoryName(name), FileSystem.exists(repoDirectory(name) + "/log") else { return }
        do throws(TrellisError) {
            _ = try loadRepository(name)
        } catch {
            warn("repository '\(name)' cannot be read: \(error.message)")
        }
    }

    @discardableResult
    func loadRepository(_ name: String) throws(TrellisError) -> RepositoryIndex {
        let index = try RepositoryIndex(name: name, directory: repoDirectory(name))
        for warning in index.takeWarnings() { warn(warning) }
        if let problem = index.log.headerProblem {
            warn("repository '\(name)': \(problem); its frames were read (run `trellis fsck --repair`)")
        }
        repos[name] = index
        try catchUp(index)
        return index
    }

    /// Reads frames appended since the last look, or the whole repository again when another
    /// process sealed or repacked it. A damaged tail is cut (and reported) only by a process
    /// holding the write lock; otherwise it may be a write still in progress.
    func catchUp(_ index: RepositoryIndex) throws(TrellisError) {
        if index.log.isQuiet() { return }
        if try index.log.changedUnderneath() {
            try reloadRepository(index.name)
            return
        }
        let scan = try index.log.scanNewFrames()
        for d in scan.skipped {
            warn(
                "repository '\(index.name)': skipped \(d.length) damaged log bytes at offset \(d.offset) (\(d.reason)); the frames after them were read (run `trellis fsck --repair`)")
        }
        if scan.frames.count > 1 { index.reserve(scan.frames.reduce(0) { $0 + $1.contents.entries.count }) }
        for frame in scan.frames {
            try index.add(frame: frame.contents, at: frame.offset)
            for e in frame.contents.entries { clock.observe(e.header.timestamp) }
        }
        index.log.noteQuiet()
        // Readers never change the store: the next writer cuts the tail.
        guard let bad = scan.badTail, writeLockHeld else { return }
        let side = try index.log.cutTail(at: bad.offset)
        warn(
            "repository '\(index.name)': cut a damaged log tail of \(bad.length) bytes at offset \(bad.offset) (\(bad.reason)); the bytes were kept in \(side)")
    }

    /// Records a warning (the caller holds `mutex`): handed to the warning handler when one is
    /// set, else kept for `takeWarnings`.
    func warn(_ message: String) {
        if let warningHandler { warningHandler(message) } else { pendingWarnings.append(message) }
    }

    /// Sends every warning from now on (and those kept so far) to `handler` instead of keeping
    /// them for `takeWarnings`: an app logs them (`Store.Configuration.logger`).
    package func setWarningHandler(_ handler: @escaping @Sendable (String) -> Void) {
        mutex.withLock {
            warningHandler = handler
            for warning in pendingWarnings { handler(warning) }
            pendingWarnings = []
        }
    }

    /// Warnings about repairs made since the last call (cut tails), for the CLI to print.
    package func takeWarnings() -> [String] {
        mutex.withLock {
            defer { pendingWarnings = [] }
            return pendingWarnings
        }
    }

    // MARK: Names

    package static func isValidRepositoryName(_ name: String) -> Bool {
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

    func repository(_ name: String) throws(TrellisError) -> RepositoryIndex {
        guard let index = try existingRepository(name) else {
            throw TrellisError(.notFound, "unknown repository '\(name)'")
        }
        return index
    }

    /// The repository's index, caught up (and loaded when another process created it), or nil.
    func existingRepository(_ name: String) throws(TrellisError) -> RepositoryIndex? {
        if let index = repos[name] {
            try catchUp(index)
            return repos[name] ?? index  // catching up may have reloaded it
        }
        guard StorageEngine.isValidRepositoryName(name), FileSystem.exists(repoDirectory(name) + "/log") else { return nil }
        return try loadRepository(name)
    }

    func refuseReentry(_ what: String) { WriteReentry.refuse(self, what) }

    func reading<T>(_ body: () throws(TrellisError) -> T) throws(TrellisError) -> T {
        refuseReentry("a read")
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }

    func reloadRepository(_ name: String) throws(TrellisError) {
        repos[name] = nil
        try loadRepository(name)
    }
}
