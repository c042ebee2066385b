import Dispatch
import Foundation
import TrellisCore
import TrellisStorage
import TrellisSync

/// Store work that may block runs off Swift's cooperative pool, so that `await`ing it never
/// stalls other tasks (docs/architecture.md §The async API and transactions):
/// - writes, which may wait for another process's write lock, for the write group or for an
///   fsync, each on a thread of their own: a dispatch queue's threads are capped near the core
///   count, so a few waiting writers would hold up every read queued behind them;
/// - reads, which wait at most for a writer's short in-memory steps, on a concurrent queue.
enum Blocking {
    static let readers = DispatchQueue(label: "org.trellis.store.read", qos: .userInitiated, attributes: .concurrent)

    static func read<T: Sendable>(_ body: @escaping @Sendable () throws(TrellisError) -> T) async throws(TrellisError) -> T {
        let result: Result<T, TrellisError> = await withCheckedContinuation { continuation in
            readers.async { continuation.resume(returning: Result { () throws(TrellisError) in try body() }) }
        }
        return try result.get()
    }

    static func write<T: Sendable>(_ body: @escaping @Sendable () throws(TrellisError) -> T) async throws(TrellisError) -> T {
        let result: Result<T, TrellisError> = await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: Result { () throws(TrellisError) in try body() }) }
            thread.name = "trellis write"
            thread.start()
        }
        return try result.get()
    }
}

/// Carries an error of the caller's own out of a closure that the engine runs (which throws
/// only `TrellisError`): the engine rolls back, and the caller gets its own error back.
final class CallerError: Sendable {
    private let error = Locked<(any Error)?>(nil)
    static let marker = "the closure threw an error of its own"

    /// Runs `body`; an error other than `TrellisError` is kept and replaced by a marker.
    func catching<T>(_ body: () throws -> T) throws(TrellisError) -> T {
        do { return try body() } catch let e as TrellisError { throw e } catch {
            self.error.withLock { $0 = error }
            throw TrellisError(.invalidArgument, Self.marker)
        }
    }

    /// The caller's own error when there was one, else `error`.
    func rethrow(_ error: TrellisError) -> any Error { self.error.withLock { $0 } ?? error }
}

extension Store {
    /// A write transaction (`Store.write(_:)`): its reads see its own earlier writes, and all of
    /// its writes commit together (one frame per repository and one fsync) or none do. It is valid
    /// only inside the closure it is given.
    public struct Transaction {
        let base: EngineTransaction

        /// The record's current document as of this point of the transaction; nil when it does
        /// not exist or is deleted.
        public func get(_ repository: String, _ key: String) throws(TrellisError) -> Document? {
            try base.document(repository, key)
        }

        /// The record decoded as `T`; nil when it does not exist or is deleted.
        public func get<T: Decodable>(_ repository: String, _ key: String, as type: T.Type) throws(TrellisError) -> T? {
            guard let document = try get(repository, key) else { return nil }
            return try ValueDecoder.decode(type, from: document)
        }

        @discardableResult
        public func put(_ repository: String, _ key: String, _ document: Document) throws(TrellisError) -> CommitID {
            try base.write(WriteRequest(repository: repository, key: key, change: .put(document))).id
        }

        @discardableResult
        public func put(_ repository: String, _ key: String, value: some Encodable) throws(TrellisError) -> CommitID {
            try put(repository, key, try ValueEncoder.document(value))
        }

        @discardableResult
        public func delete(_ repository: String, _ key: String) throws(TrellisError) -> CommitID {
            try base.write(WriteRequest(repository: repository, key: key, change: .delete)).id
        }
    }

    /// Runs `body` as one write transaction and returns its result once every write is durable.
    /// If `body` throws, nothing it wrote is stored and its error is rethrown. `body` runs under
    /// the store's write lock, possibly on another writer's thread: keep it short, and do not
    /// call back into the store except through the transaction.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Transaction) throws -> T) async throws -> T {
        let engine = self.engine
        let caller = CallerError()
        do {
            return try await Blocking.write { () throws(TrellisError) in
                try engine.transaction { (tx: EngineTransaction) throws(TrellisError) in
                    try caller.catching { try body(Transaction(base: tx)) }
                }
            }
        } catch {
            throw caller.rethrow(error)
        }
    }
}

extension Repository {
    // MARK: Async writes and reads (the same as the synchronous ones, off the cooperative pool)

    @discardableResult
    public func put(_ key: String, _ document: Document, parents: [CommitID]? = nil) async throws(TrellisError) -> CommitID {
        try await Blocking.write { () throws(TrellisError) in try self.put(key, document, parents: parents) }
    }

    @discardableResult
    public func put<T: Encodable & Sendable>(_ key: String, value: T, parents: [CommitID]? = nil) async throws(TrellisError) -> CommitID {
        try await Blocking.write { () throws(TrellisError) in try self.put(key, value: value, parents: parents) }
    }

    @discardableResult
    public func update(_ key: String, parents: [CommitID]? = nil,
                       _ change: @escaping @Sendable (inout Document) throws(TrellisError) -> Void) async throws(TrellisError) -> CommitID {
        try await Blocking.write { () throws(TrellisError) in try self.update(key, parents: parents, change) }
    }

    /// Decodes the record as `T`, applies `change` and stores the result, all under the write
    /// lock, so that concurrent updates never lose one another. Throws when the record does not
    /// exist or is deleted; an error thrown by `change` stores nothing and is rethrown.
    @discardableResult
    public func update<T: Codable & Sendable>(_ key: String, as type: T.Type,
                                   _ change: @escaping @Sendable (inout T) throws -> Void) async throws -> CommitID {
        let caller = CallerError()
        do {
            return try await Blocking.write { () throws(TrellisError) in try self.update(key, as: type, caller: caller, change) }
        } catch {
            throw caller.rethrow(error)
        }
    }

    /// `update(_:as:_:)` without `await`.
    @discardableResult
    public func update<T: Codable & Sendable>(_ key: String, as type: T.Type, _ change: @escaping @Sendable (inout T) throws -> Void) throws -> CommitID {
        let caller = CallerError()
        do { return try update(key, as: type, caller: caller, change) } catch { throw caller.rethrow(error) }
    }

    private func update<T: Codable & Sendable>(_ key: String, as type: T.Type, caller: CallerError,
                                    _ change: @escaping @Sendable (inout T) throws -> Void) throws(TrellisError) -> CommitID {
        let name = self.name
        return try store.engine.write([WriteRequest(repository: name, key: key, change: .update { current throws(TrellisError) in
            guard let current else { throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(name)'") }
            var value = try ValueDecoder.decode(T.self, from: current)
            try caller.catching { try change(&value) }
            return try ValueEncoder.document(value)
        })])[0].id
    }

    @discardableResult
    public func delete(_ key: String) async throws(TrellisError) -> CommitID {
        try await Blocking.write { () throws(TrellisError) in try self.delete(key) }
    }

    public func get(_ key: String) async throws(TrellisError) -> Document? {
        try await Blocking.read { () throws(TrellisError) in try self.get(key) }
    }

    public func get<T: Decodable & Sendable>(_ key: String, as type: T.Type) async throws(TrellisError) -> T? {
        try await Blocking.read { () throws(TrellisError) in try self.get(key, as: type) }
    }

    public func keys() async throws(TrellisError) -> [String] {
        try await Blocking.read { () throws(TrellisError) in try self.keys() }
    }

    public func history(_ key: String? = nil, limit: Int? = nil) async throws(TrellisError) -> [CommitInfo] {
        try await Blocking.read { () throws(TrellisError) in try self.history(key, limit: limit) }
    }
}

extension Store {
    /// `sync(with:)` for async callers: it reads and writes both stores, so it runs off the
    /// cooperative pool, as writes do.
    @discardableResult
    public func sync(with other: Store, repositories: [String] = [],
                     observer: Sync.Observer = Sync.Observer()) async throws(TrellisError) -> SyncReport {
        try await Blocking.write { () throws(TrellisError) in
            try self.sync(with: other, repositories: repositories, observer: observer)
        }
    }
}
