import TrellisCore

/// A write transaction of `RecordStore.transaction`: reads see the commits this transaction
/// wrote before them, and every write is staged into one batch that commits as a whole (in the
/// file engine one frame per repository and one fsync), or not at all.
///
/// It lives only inside the closure it is given, which runs under the store's write lock,
/// possibly on another writer's thread; using it after the closure returns is refused.
package final class EngineTransaction {
    private let staging: any TransactionStaging
    var closed = false

    init(_ staging: any TransactionStaging) { self.staging = staging }

    private func checkOpen() throws(TrellisError) {
        guard !closed else { throw TrellisError(.invalidArgument, "a transaction was used after its closure returned") }
    }

    /// The record's current document as of this point of the transaction (several heads merged
    /// in memory); nil when the record or its repository does not exist, or it is deleted.
    package func document(_ repository: String, _ key: String) throws(TrellisError) -> Document? {
        try checkOpen()
        return try staging.document(repository, key)
    }

    /// Stages a write; it is visible to the transaction's later reads at once.
    @discardableResult
    package func write(_ request: WriteRequest) throws(TrellisError) -> CommitInfo {
        try checkOpen()
        return try staging.stage(request)
    }
}

/// What an engine gives a transaction: reads of its staged state, and staging.
protocol TransactionStaging: AnyObject {
    func document(_ repository: String, _ key: String) throws(TrellisError) -> Document?
    func stage(_ request: WriteRequest) throws(TrellisError) -> CommitInfo
}

/// The file engine's: a batch of the write group, staged under the write lock.
final class FileStaging: TransactionStaging {
    private unowned let engine: StorageEngine
    var batch = StorageEngine.Batch()

    init(engine: StorageEngine) { self.engine = engine }

    func document(_ repository: String, _ key: String) throws(TrellisError) -> Document? {
        guard let index = try engine.existingRepository(repository), let found = try index.mergedDocument(key) else { return nil }
        return found
    }

    func stage(_ request: WriteRequest) throws(TrellisError) -> CommitInfo { try engine.stage(request, into: &batch) }
}
