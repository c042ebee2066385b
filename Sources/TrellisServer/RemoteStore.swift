import Foundation
import Trellis
import TrellisCore
import TrellisStorage
import TrellisSync

/// A commit that arrived in a watched repository, with the record's document as of that commit.
public struct Change: Sendable {
    public let commit: CommitInfo
    /// nil for a deletion.
    public let document: Document?
}

extension Store {
    /// Syncs with a `trellis serve` server both ways over WebSocket (docs/server.md). With no
    /// repositories named, every repository the server lets this store's identity read.
    @discardableResult
    public func sync(url: String, repositories: [String] = [],
                     observer: Sync.Observer = Sync.Observer()) async throws(TrellisError) -> SyncReport {
        let wrapped = SendableObserver(observer)
        return try await ClientConnection.run(url: url, engine: engine) { (c: ClientConnection) throws(TrellisError) in
            try await c.sync(repositories, observer: wrapped.observer)
        }
    }

    /// New commits of `repository` (only `key`'s, when given) as the server pushes them: the
    /// store first catches up with the server, silently, then yields every commit stored after
    /// that, parents first. The sequence ends with an error when the connection fails.
    public func changes(from url: String, repository: String, key: String? = nil) -> AsyncThrowingStream<Change, any Error> {
        let engine = self.engine
        return AsyncThrowingStream { continuation in
            let task = Task {
                do throws(TrellisError) {
                    let _: Bool = try await ClientConnection.run(url: url, engine: engine) { (c: ClientConnection) throws(TrellisError) in
                        let watch = Watch(engine: engine, repository: repository, key: key) { continuation.yield($0) }
                        c.onPush = { (name: String, commits: [WireCommit]) throws(TrellisError) in
                            guard name == repository else { return }
                            if try !watch.absorb(commits) { watch.behind = true }
                        }
                        try await c.subscribe([repository])
                        _ = try await c.sync([repository])
                        try watch.start()
                        while !Task.isCancelled {
                            if watch.behind {
                                watch.behind = false
                                _ = try await c.sync([repository])
                                try watch.emitNew()
                            }
                            let message = try await c.receive()
                            if case .error(let text)? = try? SyncMessage.decode(message) {
                                throw TrellisError(.permissionDenied, "the server stopped the watch: \(text)")
                            }
                        }
                        return true
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// The observer's closures cross into the connection's task; they are called from it alone.
private struct SendableObserver: @unchecked Sendable {
    let observer: Sync.Observer
    init(_ observer: Sync.Observer) { self.observer = observer }
}

/// Follows one repository's arrivals in the local store and reports each new commit once.
private final class Watch: @unchecked Sendable {
    let engine: StorageEngine
    let repository: String
    let key: String?
    let emit: (Change) -> Void
    private var mark: UInt64 = 0
    /// A push named a parent this store lacks: catch up with a sync before the next push.
    var behind = false

    init(engine: StorageEngine, repository: String, key: String?, emit: @escaping (Change) -> Void) {
        (self.engine, self.repository, self.key, self.emit) = (engine, repository, key, emit)
    }

    func start() throws(TrellisError) { mark = try engine.syncView(repository).seqEnd }

    /// Stores pushed commits; false when one needs a parent this store lacks.
    func absorb(_ commits: [WireCommit]) throws(TrellisError) -> Bool {
        let ids = commits.map { CommitID.of($0.encoded) }
        let have = try engine.stored(Set(ids), in: repository)
        let fresh = zip(commits, ids).filter { !have.contains($0.1) }.map { ($0.0.encoded, $0.0.signature) }
        do { try engine.receive(encoded: fresh) } catch where error.code == .notFound { return false }
        try emitNew()
        return true
    }

    func emitNew() throws(TrellisError) {
        let (ids, end) = try engine.arrivals(in: repository, since: mark)
        mark = max(mark, end)
        for id in ids {
            let info = try engine.info(id)
            guard key == nil || info.key == key else { continue }
            emit(Change(commit: info, document: try engine.commit(id).commit.document))
        }
    }
}
