import TrellisCore
import TrellisStorage
import TrellisSync

public typealias SyncReport = TrellisSync.SyncReport
public typealias SyncBundle = TrellisSync.SyncBundle
public typealias Sync = TrellisSync.Sync

extension Store {
    /// Syncs with another store open in this process, both ways (docs/sync.md). Only the named
    /// repositories take part, or all of them when none are named.
    @discardableResult
    public func sync(with other: Store, repositories: [String] = [],
                     observer: Sync.Observer = Sync.Observer()) throws(TrellisError) -> SyncReport {
        guard !engine.isSameStore(as: other.engine) else {
            throw TrellisError(.invalidArgument, "cannot sync a store with itself")
        }
        return try Sync.between(engine, other.engine, address: other.engine.peerAddress,
                                repositories: repositories, observer: observer)
    }

    /// Opens the store at `path` (which must exist) and syncs with it both ways.
    @discardableResult
    public func sync(withStoreAt path: String, repositories: [String] = [],
                     observer: Sync.Observer = Sync.Observer()) throws(TrellisError) -> SyncReport {
        let other = try Store.open(path, create: false, configuration: configuration)
        return try sync(with: other, repositories: repositories, observer: observer)
    }

    /// Writes every commit of the named repositories (all when none) into a bundle file,
    /// atomically.
    @discardableResult
    public func createBundle(at path: String, repositories: [String] = []) throws(TrellisError) -> SyncBundle.Report {
        let made = try SyncBundle.create(from: engine, repositories: repositories)
        try FileSystem.writeAtomically(FileSystem.absolute(path), made.bytes)
        return made.report
    }

    /// Verifies and stores the commits of a bundle file.
    @discardableResult
    public func applyBundle(at path: String) throws(TrellisError) -> SyncBundle.Report {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readAll(path) } catch { throw TrellisError(.notFound, "cannot read the bundle \(path): \(error.message)") }
        return try SyncBundle.apply(bytes, to: engine)
    }
}
