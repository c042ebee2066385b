import Foundation
import Trellis
import TrellisCore
import TrellisStorage
import TrellisSync

extension Store {
    /// Syncs with a `trellis serve` server both ways over WebSocket (docs/server.md). With no
    /// repositories named, every repository the server lets this store's identity read.
    @discardableResult
    public func sync(url: String, repositories: [String] = [],
                     observer: Sync.Observer = Sync.Observer()) async throws(TrellisError) -> SyncReport {
        try await ClientConnection.run(url: url, engine: engine) { (c: ClientConnection) throws(TrellisError) in
            try await c.sync(repositories, observer: observer)
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
                            let missing = try watch.absorb(commits)
                            guard !missing.isEmpty else { return }
                            // A server is asked by a sync; a relay's other clients by a NEED.
                            if c.relay { try await c.send(ServerMessage.need(repository: repository, ids: missing).encoded()) } else { watch.behind = true }
                        }
                        if c.relay, c.access?.first(where: { $0.name == repository })?.write ?? (c.access == nil) {
                            c.onNeed = { (name: String, ids: [CommitID]) throws(TrellisError) in
                                guard name == repository else { return }
                                let have = try engine.stored(Set(ids), in: repository)
                                let found = try engine.wireCommits(in: repository, ids.filter(have.contains))
                                if !found.isEmpty { try await c.send(ServerMessage.push(repository: repository, commits: found).encoded()) }
                            }
                        }
                        try await c.subscribe([repository])
                        if !c.relay { _ = try await c.sync([repository]) }
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

/// Follows one repository's arrivals in the local store and reports each new commit once.
///
/// `@unchecked Sendable`: it is made, used and dropped inside one connection's task (the push
/// and need handlers run in that task's receive loop), so its mutable state is never shared.
private final class Watch: @unchecked Sendable {
    let engine: any CommitStore
    let repository: String
    let key: String?
    let emit: @Sendable (Change) -> Void
    private var mark: UInt64 = 0
    /// A push named a parent this store lacks: catch up with a sync before the next push.
    var behind = false

    init(engine: any CommitStore, repository: String, key: String?, emit: @escaping @Sendable (Change) -> Void) {
        (self.engine, self.repository, self.key, self.emit) = (engine, repository, key, emit)
    }

    func start() throws(TrellisError) { mark = try engine.syncView(repository).seqEnd }

    /// Commits waiting for parents, by id, and their bytes (bounded as a sync session's are).
    private var held: [CommitID: (commit: WireCommit, parents: [CommitID])] = [:]
    private var heldBytes = 0

    /// Stores pushed commits whose parents are present, holds the others, and returns the
    /// parents still missing.
    func absorb(_ commits: [WireCommit]) throws(TrellisError) -> [CommitID] {
        for c in commits {
            let header: Commit.Header
            do { header = try Commit.decodeHeader(c.encoded) } catch { throw TrellisError(.corruptData, "the server pushed a malformed commit") }
            let id = CommitID.of(c.encoded)
            guard header.repository == repository, held[id] == nil else { continue }
            held[id] = (c, header.parents)
            heldBytes += c.encoded.count + c.signature.count
        }
        let asked = Set(held.keys).union(held.values.flatMap(\.parents))
        var present = try engine.stored(asked, in: repository)
        for id in held.keys where present.contains(id) { drop(id) }
        var batch: [WireCommit] = []
        var moved = true
        while moved {
            moved = false
            for (id, h) in held.sorted(by: { $0.key < $1.key }) where h.parents.allSatisfy(present.contains) {
                batch.append(h.commit)
                present.insert(id)
                drop(id)
                moved = true
            }
        }
        try engine.receive(encoded: batch)
        try emitNew()
        if heldBytes > SyncMessage.maxHeldBytes {
            held.removeAll()
            heldBytes = 0
        }
        return Array(Set(held.values.flatMap(\.parents)).filter { !present.contains($0) && held[$0] == nil }).sorted()
    }

    private func drop(_ id: CommitID) {
        if let h = held.removeValue(forKey: id) { heldBytes -= h.commit.encoded.count + h.commit.signature.count }
    }

    func emitNew() throws(TrellisError) {
        let arrived = try engine.arrivals(in: repository, since: mark)
        let ids = arrived.ids, end = arrived.end
        mark = max(mark, end)
        for id in ids {
            let info = try engine.info(id)
            guard key == nil || info.key == key else { continue }
            emit(Change(commit: info, document: try engine.commit(id).commit.document))
        }
    }
}
