import Logging
import TrellisCore
import TrellisCrypto
import TrellisStorage

public typealias Value = TrellisCore.Value
public typealias ValueJSON = TrellisCore.ValueJSON
public typealias Hex = TrellisCrypto.Hex
public typealias Commit = TrellisCore.Commit
public typealias CommitID = TrellisCore.CommitID
public typealias Document = TrellisCore.Document
public typealias FieldChange = TrellisCore.FieldChange
public typealias MergeConflict = TrellisCore.MergeConflict
public typealias SignedCommit = TrellisCore.SignedCommit
public typealias TrellisError = TrellisCore.TrellisError
public typealias PublicKey = TrellisCrypto.PublicKey
public typealias CommitInfo = TrellisStorage.CommitInfo
public typealias ResolvedMerge = TrellisStorage.ResolvedMerge
public typealias WriteRequest = TrellisStorage.WriteRequest
public typealias PackReport = TrellisStorage.PackReport
public typealias RepositoryStats = TrellisStorage.RepositoryStats

/// A Trellis store: named repositories of versioned, signed records, kept in a directory
/// (`open`, `create`) or in memory (`inMemory`).
///
/// ```swift
/// let store = try Store.open("/tmp/tasks-store")
/// let tasks = try store.repository("tasks")
/// try tasks.put("t1", value: Task(title: "Write docs", done: false))
/// ```
public final class Store: Sendable {
    /// How a store behaves, fixed when it is opened.
    public struct Configuration: Sendable {
        /// When writes are acknowledged: `.full` (after fsync, the default), `.batched` or `.none`
        /// (docs/architecture.md §Group commit and durability). A store in memory is never durable.
        public var durability: Durability
        /// Seconds a write waits for another process holding the store's write lock.
        public var lockTimeout: Double
        /// A repository's log is sealed into a pack once it passes this many bytes.
        public var sealThreshold: UInt64
        /// Where warnings go (a damaged log tail cut, an unreadable pack): logged at `.warning` as
        /// they happen. Without a logger they are kept for `takeWarnings()`, which the CLI prints.
        public var logger: Logger?

        public init(durability: Durability = .full, lockTimeout: Double = 10,
                    sealThreshold: UInt64 = StorageEngine.defaultSealThreshold, logger: Logger? = nil) {
            (self.durability, self.lockTimeout, self.sealThreshold, self.logger) = (durability, lockTimeout, sealThreshold, logger)
        }
    }

    package let engine: any RecordStore
    public let configuration: Configuration

    init(engine: any RecordStore, configuration: Configuration) {
        self.engine = engine
        self.configuration = configuration
        if let file = engine as? StorageEngine {
            file.lockTimeout = configuration.lockTimeout
            file.durability = configuration.durability
            file.sealThreshold = configuration.sealThreshold
            if let logger = configuration.logger {
                let path = file.path
                file.setWarningHandler { logger.warning("\($0)", metadata: ["store": "\(path)"]) }
            }
        }
    }

    /// The file engine, nil for a store in memory.
    package var fileEngine: StorageEngine? { engine as? StorageEngine }

    /// Opens the store at `path`, creating an empty one there first when `create` is true and none exists.
    public static func open(_ path: String, create: Bool = true, configuration: Configuration = Configuration()) throws(TrellisError) -> Store {
        do {
            return Store(engine: try StorageEngine.open(at: path), configuration: configuration)
        } catch where create && error.code == .storeMissing {
            return Store(engine: try StorageEngine.create(at: path), configuration: configuration)
        }
    }

    /// Creates a new store; fails when one already exists at `path`.
    public static func create(_ path: String, configuration: Configuration = Configuration()) throws(TrellisError) -> Store {
        Store(engine: try StorageEngine.create(at: path), configuration: configuration)
    }

    /// A new, empty store held in memory, with a new identity: the same commits, merges and
    /// checks as a store directory, nothing written anywhere, gone with its last reference. It
    /// syncs with any other store (`sync(with:)`).
    public static func inMemory(configuration: Configuration = Configuration()) throws(TrellisError) -> Store {
        Store(engine: try MemoryEngine(), configuration: configuration)
    }

    /// Whether the store is held in memory rather than in a directory.
    public var isInMemory: Bool { fileEngine == nil }

    /// The store directory; for a store in memory, its address `memory:` and a random id.
    public var path: String { fileEngine?.path ?? engine.peerAddress }

    /// The store's Ed25519 identity: it signs every commit written here. Reading it needs the
    /// identity key file, which reads of records never do.
    public var identity: PublicKey { get throws(TrellisError) { try engine.identity.publicKey } }

    /// `configuration.lockTimeout` (0 in memory, where there is no lock to wait for).
    public var lockTimeout: Double { isInMemory ? 0 : configuration.lockTimeout }

    /// `configuration.durability`; always `.none` in memory.
    public var durability: Durability { isInMemory ? .none : configuration.durability }

    /// Fsyncs every log written since the last fsync (`.batched` and `.none` modes).
    public func flush() { engine.flush() }

    /// `configuration.sealThreshold`.
    public var sealThreshold: UInt64 { configuration.sealThreshold }

    /// Rewrites repositories (all when none are named) into one pack each, with commits stored
    /// as deltas against their parents in chains of at most `depth` (docs/architecture.md §Packs).
    /// A store in memory has no packs: nothing to do.
    @discardableResult
    public func repack(_ repositories: [String] = [], depth: Int = StorageEngine.defaultPackDepth) throws(TrellisError) -> [PackReport] {
        try fileEngine?.repack(repositories, depth: depth) ?? []
    }

    /// Moves a store directory to the current format and repacks it (`trellis upgrade`);
    /// returns the format it had. A store in memory is always current.
    @discardableResult
    public func upgrade() throws(TrellisError) -> Int {
        try fileEngine?.upgrade() ?? StorageEngine.currentFormat
    }

    /// The store's format version (docs/format.md §Store formats).
    public var format: Int { fileEngine?.format ?? StorageEngine.currentFormat }

    /// Commits, records, bytes on disk and raw, and delta chains of one repository (of a store
    /// directory: a store in memory has no bytes on disk to measure).
    public func stats(_ repository: String) throws(TrellisError) -> RepositoryStats {
        guard let fileEngine else { throw TrellisError(.invalidArgument, "a store in memory has no packs or logs to measure") }
        return try fileEngine.stats(repository)
    }

    /// A repository by name. It comes into being with its first write.
    public func repository(_ name: String) throws(TrellisError) -> Repository {
        guard StorageEngine.isValidRepositoryName(name) else {
            throw TrellisError(.invalidArgument,
                "invalid repository name '\(name)': use 1-64 letters, digits, '.', '-' or '_', not starting with '.'")
        }
        return Repository(name: name, store: self)
    }

    public func repositoryNames() throws(TrellisError) -> [String] { try engine.repositoryNames() }

    /// Makes an empty repository; fails when it exists. (A write also creates its repository.)
    @discardableResult
    public func createRepository(_ name: String) throws(TrellisError) -> Repository {
        let repository = try repository(name)
        try engine.createRepository(name)
        return repository
    }

    /// Removes a repository and its whole history from this store (not from stores it synced
    /// with). It vanishes at once; a crash part-way leaves only a leftover for the next writer.
    public func removeRepository(_ name: String) throws(TrellisError) {
        _ = try repository(name)
        try engine.removeRepository(name)
    }

    /// A repository that must already hold commits; throws "unknown repository" otherwise.
    public func existingRepository(_ name: String) throws(TrellisError) -> Repository {
        guard try repositoryNames().contains(name) else { throw TrellisError(.notFound, "unknown repository '\(name)'") }
        return try repository(name)
    }

    /// A stored commit by id.
    public func commit(_ id: CommitID) throws(TrellisError) -> SignedCommit { try engine.commit(id) }

    /// What the store indexes about a commit (no document).
    public func info(_ id: CommitID) throws(TrellisError) -> CommitInfo { try engine.info(id) }

    /// Resolves a full id or a unique prefix of at least 4 hex digits.
    public func resolve(_ idOrPrefix: String) throws(TrellisError) -> CommitID { try engine.resolve(idOrPrefix) }

    /// Repairs made while opening or writing (a cut damaged log tail), once each.
    public func takeWarnings() -> [String] { engine.takeWarnings() }

    /// Checks a store without opening it for writing (nothing is cut or repaired): checksums,
    /// ids, signatures, parents, merges by recomputation.
    public static func fsck(_ path: String) throws(TrellisError) -> FsckReport { try Fsck.check(storeAt: path) }

    /// Rewrites every commit that can still be read and verified into fresh packs, indexes and
    /// checkpoints, and moves damaged files aside (never deleting them). Takes the write lock.
    public static func repair(_ path: String, lockTimeout: Double = 10) throws(TrellisError) -> [String] {
        try Repair.repair(storeAt: path, lockTimeout: lockTimeout).actions
    }

    /// Stores commits made elsewhere after verifying each one (ids, signatures, and merges by
    /// recomputation); all or nothing.
    public func receive(_ commits: [SignedCommit]) throws(TrellisError) { try engine.receive(encoded: commits.map(WireCommit.init)) }

    /// Writes several changes with one fsync per repository.
    @discardableResult
    public func write(_ requests: [WriteRequest]) throws(TrellisError) -> [CommitInfo] { try engine.write(requests) }
}

public typealias FsckReport = Fsck.Report
public typealias Durability = TrellisStorage.Durability
