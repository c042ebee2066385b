import Foundation
import Testing
import Trellis
import TrellisTestSupport
@testable import TrellisClient
@testable import TrellisServer

/// Collects a watch's changes as they arrive.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var changes: [Change] = []
    private var error: String?
    private var ended = false

    func watch(_ store: Store, _ url: String, _ repository: String, key: String? = nil) -> Task<Void, Never> {
        Task {
            do {
                for try await change in store.changes(from: url, repository: repository, key: key) {
                    lock.withLock { changes.append(change) }
                }
            } catch {
                lock.withLock { self.error = (error as? TrellisError)?.message ?? "\(error)" }
            }
            lock.withLock { ended = true }
        }
    }

    var ids: [CommitID] { lock.withLock { changes.map(\.commit.id) } }
    var all: [Change] { lock.withLock { changes } }
    var failure: String? { lock.withLock { error } }
    var finished: Bool { lock.withLock { ended } }
}

@Suite struct PushTests {
    @Test(arguments: EngineKind.allCases) func watchersSeeNewCommitsAsTheyArrive(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine)
        let (writer, watcher, keyWatcher) = (try clientStore(dir, "w", engine), try clientStore(dir, "x", engine), try clientStore(dir, "k", engine))
        for s in [writer, watcher, keyWatcher] { try server.store.changeAccess("feed", grant: true, try s.identity, .write) }
        // History before the watch starts is caught up silently.
        let old = try await writer.repository("feed").put("a", value: ["n": 0])
        try await writer.sync(url: server.url)

        let all = Collected(), onlyB = Collected()
        let t1 = all.watch(watcher, server.url, "feed")
        let t2 = onlyB.watch(keyWatcher, server.url, "feed", key: "b")
        #expect(try await eventually { try watcher.allCommitIDs("feed").contains(old) && keyWatcher.allCommitIDs("feed").contains(old) })

        var written: [CommitID] = []
        for i in 1...3 {
            written.append(try await writer.repository("feed").put(i == 2 ? "b" : "a", value: ["n": i]))
            try await writer.sync(url: server.url)
        }
        #expect(await eventually { all.ids == written })
        #expect(await eventually { onlyB.ids == [written[1]] })
        #expect(all.all.map { $0.document?["n"] } == [1, 2, 3].map { Value.int(Int64($0)) })
        #expect(all.failure == nil)

        // A commit written into the server's own store (as another process would) is pushed too.
        let local = try await server.store.repository("feed").put("a", value: ["n": 4])
        #expect(await eventually { all.ids.last == local })
        t1.cancel()
        t2.cancel()
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func revokedWatcherIsCutOff(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine)
        let (writer, watcher) = (try clientStore(dir, "w", engine), try clientStore(dir, "x", engine))
        try server.store.changeAccess("feed", grant: true, try writer.identity, .write)
        try server.store.changeAccess("feed", grant: true, try watcher.identity, .read)
        try await writer.repository("feed").put("a", value: ["n": 0])
        try await writer.sync(url: server.url)
        let seen = Collected()
        _ = seen.watch(watcher, server.url, "feed")
        #expect(try await eventually { try !watcher.allCommitIDs("feed").isEmpty })

        try server.store.changeAccess("feed", grant: false, try watcher.identity, .read)
        let hidden = try await writer.repository("feed").put("a", value: ["n": 1])
        try await writer.sync(url: server.url)
        #expect(await eventually { seen.finished })
        #expect(seen.failure?.contains("revoked") == true)
        #expect(try !watcher.allCommitIDs("feed").contains(hidden))
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func shutdownEndsWatchesAndRefusesNewConnections(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) { $0.open = true }
        let watcher = try clientStore(dir, "x", engine)
        let seen = Collected()
        _ = seen.watch(watcher, server.url, "feed")
        // Stop only once the watch is subscribed: under load it may take a while to connect.
        #expect(await eventually(60) { server.server.broker.subscriberCount("feed") == 1 })
        #expect(!seen.finished)
        try await server.stop()
        #expect(await eventually(60) { seen.finished })
        #expect(seen.failure != nil)
        let after = await failure { try await watcher.sync(url: server.url) }
        #expect(after?.contains("cannot connect") == true)
    }
}
