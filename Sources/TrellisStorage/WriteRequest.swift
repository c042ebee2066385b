import TrellisCore

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
