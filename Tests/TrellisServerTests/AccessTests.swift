import Foundation
import Testing
import Trellis
import TrellisCore
import TrellisSync
import TrellisTestSupport
@testable import TrellisClient
@testable import TrellisServer

@Suite struct AccessTests {
    @Test(arguments: EngineKind.allCases) func outsiderCanNeitherReadNorWrite(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine)
        let writer = try clientStore(dir, "writer", engine)
        let outsider = try clientStore(dir, "outsider", engine)
        try server.store.changeAccess("tasks", grant: true, try writer.identity, .write)
        try await writer.repository("tasks").put("t1", value: ["title": "secret"])
        try await writer.sync(url: server.url)
        let before = try server.store.allCommitIDs("tasks")
        #expect(before.count == 1)

        // Reading: named or not, the outsider gets a refusal and nothing else.
        let named = await failure { try await outsider.sync(url: server.url, repositories: ["tasks"]) }
        #expect(named?.contains("may not read repository 'tasks'") == true)
        let unnamed = await failure { try await outsider.sync(url: server.url) }
        #expect(unnamed?.contains("no repository") == true)
        #expect(try outsider.allCommitIDs("tasks").isEmpty)

        // Writing: refused, and the server's repository is unchanged.
        try await outsider.repository("tasks").put("t2", value: ["title": "intruder"])
        let write = await failure { try await outsider.sync(url: server.url, repositories: ["tasks"]) }
        #expect(write?.contains("may not read") == true)
        #expect(try server.store.allCommitIDs("tasks") == before)

        // Read access granted while the server runs: the outsider now pulls, and keeps its own
        // commit, which its client does not send.
        try server.store.changeAccess("tasks", grant: true, try outsider.identity, .read)
        let pulled = try await outsider.sync(url: server.url, repositories: ["tasks"])
        #expect(pulled.commitsReceived == 1 && pulled.commitsSent == 0 && pulled.commitsWithheld == 1)
        #expect(try outsider.allCommitIDs("tasks").isSuperset(of: before))
        #expect(try server.store.allCommitIDs("tasks") == before)

        // A client that sends anyway (here, a session that ignores what READY said) is refused.
        let forced = await failure {
            _ = try await ClientConnection.run(url: server.url, engine: outsider.engine) { (c: ClientConnection) throws(TrellisError) in
                let initiator = try SyncInitiator(engine: outsider.engine, address: "forced", repositories: ["tasks"])
                _ = try await Sync.run(initiator, exchange: c.exchange)
                return true
            }
        }
        #expect(forced?.contains("may not write to repository 'tasks'") == true)
        #expect(try server.store.allCommitIDs("tasks") == before)

        // Revoked again: refused again.
        try server.store.changeAccess("tasks", grant: false, try outsider.identity, .read)
        let revoked = await failure { try await outsider.sync(url: server.url, repositories: ["tasks"]) }
        #expect(revoked?.contains("may not read") == true)
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func writersPushAndReadersPull(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine)
        let (a, b, reader) = (try clientStore(dir, "a", engine), try clientStore(dir, "b", engine), try clientStore(dir, "reader", engine))
        for w in [a, b] { try server.store.changeAccess("notes", grant: true, try w.identity, .write) }
        try server.store.changeAccess("notes", grant: true, try reader.identity, .read)

        // Concurrent edits of one record, then a merge made by a client: the server accepts the
        // merge only because it recomputes it.
        try await a.repository("notes").put("n", value: ["title": "A", "body": "x"])
        try await a.sync(url: server.url)
        try await b.sync(url: server.url)
        try await a.repository("notes").put("n", value: ["title": "A2", "body": "x"])
        try await b.repository("notes").put("n", value: ["title": "A", "body": "y"])
        try await a.sync(url: server.url)
        try await b.sync(url: server.url)
        #expect(try b.repository("notes").heads("n").count == 2)
        let merge = try b.repository("notes").merge("n")
        try await b.sync(url: server.url)
        #expect(try server.store.repository("notes").heads("n").map(\.id) == [merge.id])

        let report = try await reader.sync(url: server.url)
        #expect(report.commitsReceived == 4)
        #expect(try reader.allCommitIDs("notes") == server.store.allCommitIDs("notes"))
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func commitsByAuthorsWithoutWriteAccessAreWithheldAndTheRestGoesThrough(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine)
        let (writer, stranger) = (try clientStore(dir, "writer", engine), try clientStore(dir, "stranger", engine))
        try server.store.changeAccess("tasks", grant: true, try writer.identity, .write)
        // The writer holds a commit the stranger signed (from a direct sync between them), and
        // builds on it: neither may go to the server, but the writer's own record must.
        try await stranger.repository("tasks").put("s", value: ["v": 1])
        try await writer.repository("tasks").put("w", value: ["v": 2])
        try await writer.sync(with: stranger)
        try await writer.repository("tasks").put("s", value: ["v": 3])  // on top of the stranger's commit
        let report = try await writer.sync(url: server.url)
        #expect(report.commitsWithheld == 2)
        #expect(try await server.store.repository("tasks").keys() == ["w"])
        #expect(try await server.store.allCommitIDs("tasks") == Set(try writer.repository("tasks").history("w").map(\.id)))
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func repositoryWithoutListIsTheServersAlone(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine)
        try await server.store.repository("private").put("k", value: ["v": 1])
        let client = try clientStore(dir, "client", engine)
        try server.store.changeAccess("public", grant: true, try client.identity, .write)
        let refused = await failure { try await client.sync(url: server.url, repositories: ["private"]) }
        #expect(refused?.contains("may not read repository 'private'") == true)
        // With no repositories named, the client syncs exactly those it may read.
        try await client.repository("public").put("k", value: ["v": 2])
        try await client.sync(url: server.url)
        #expect(try server.store.allCommitIDs("public").count == 1)
        #expect(try client.allCommitIDs("private").isEmpty)
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func openServerLetsEveryoneReadAndWrite(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) { $0.open = true }
        let (a, b) = (try clientStore(dir, "a", engine), try clientStore(dir, "b", engine))
        try await a.repository("any").put("k", value: ["v": 1])
        try await a.sync(url: server.url)
        try await b.sync(url: server.url)
        #expect(try b.allCommitIDs("any") == a.allCommitIDs("any"))
        try await server.stop()
    }

    @Test func accessListFileRoundTripsAndDamageDeniesAccess() throws {
        let dir = TemporaryDirectory()
        let store = try Store.open(dir.file("s"))
        let (k1, k2) = (try clientStore(dir, "1").identity, try clientStore(dir, "2").identity)
        var list = try store.changeAccess("r", grant: true, k1, .write)
        list = try store.changeAccess("r", grant: true, k2, .read)
        #expect(try store.accessList("r") == list)
        #expect(list.allows(k1, .read) && list.allows(k1, .write) && list.allows(k2, .read) && !list.allows(k2, .write))
        list = try store.changeAccess("r", grant: false, k1, .write)
        #expect(list.allows(k1, .read) && !list.allows(k1, .write))
        #expect(throws: TrellisError.self) { try store.changeAccess("r", grant: false, try store.identity, .read) }

        let policy = AccessPolicy(store: store.engine, server: try store.identity, open: false)
        #expect(policy.allows(k2, .read, "r"))
        try Data("trellis-access 1\nowner zz\n".utf8).write(to: URL(fileURLWithPath: store.path + "/access/r.acl"))
        #expect(throws: TrellisError.self) { try store.accessList("r") }
        #expect(!policy.allows(k2, .read, "r"))
        #expect(policy.allows(try store.identity, .write, "r"))
    }
}
