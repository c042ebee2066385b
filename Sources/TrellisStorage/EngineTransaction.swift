import TrellisCore

/// A write transaction of `StorageEngine.transaction`: reads see the commits this transaction
/// wrote before them, and every write is staged into one batch that commits as a whole, one
/// frame per repository and one fsync, or not at all.
///
/// It lives only inside the closure it is given, which runs under the store's write lock on
/// the write group leader's thread; using it after the closure returns is refused.
public final class EngineTransaction {
    private unowned let engine: StorageEngine
    var batch = StorageEngine.Batch()
    var closed = false

    init(engine: StorageEngine) { self.engine = engine }

    private func checkOpen() throws(TrellisError) {
        guard !closed else { throw TrellisError(.invalidArgument, "a transaction was used after its closure returned") }
    }

    /// The record's current document as of this point of the transaction (several heads merged
    /// in memory); nil when the record or its repository does not exist, or it is deleted.
    public func document(_ repository: String, _ key: String) throws(TrellisError) -> Document? {
        try checkOpen()
        guard let index = try engine.existingRepository(repository), let found = try engine.mergedDocument(index, key) else { return nil }
        return found
    }

    /// Stages a write; it is visible to the transaction's later reads at once.
    @discardableResult
    public func write(_ request: WriteRequest) throws(TrellisError) -> CommitInfo {
        try checkOpen()
        return try engine.stage(request, into: &batch)
    }
}
