import Foundation
import Testing
import Trellis
import TrellisTestSupport
@testable import TrellisClient
@testable import TrellisServer

@Suite struct ConcurrencyTests {
    /// 100 clients push and pull at once for a bounded time; after one last sync each, every
    /// client holds every commit, and so does the server.
    @Test(arguments: EngineKind.allCases) func hundredClientsConverge(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) { $0.open = true }
        let clients = try (0..<100).map { try clientStore(dir, "c\($0)", engine) }
        let deadline = Date().addingTimeInterval(4)
        let written = try await withThrowingTaskGroup(of: [CommitID].self) { group in
            for (n, client) in clients.enumerated() {
                group.addTask {
                    var mine: [CommitID] = []
                    var round = 0
                    repeat {
                        // Shared keys too, so concurrent edits meet and merge.
                        mine.append(try await client.repository("shared").put("k\(n)-\(round)", value: ["n": n, "round": round]))
                        mine.append(try await client.repository("shared").put("common\(round % 3)", value: ["by": n]))
                        try await client.sync(url: server.url)
                        round += 1
                    } while Date() < deadline
                    return mine
                }
            }
            var all: [CommitID] = []
            for try await ids in group { all += ids }
            return all
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try await client.sync(url: server.url) } }
            try await group.waitForAll()
        }
        // Syncs made before others' last pushes can miss them; one more round settles everyone.
        for client in clients { try await client.sync(url: server.url) }
        let everything = try server.store.allCommitIDs("shared")
        #expect(everything.isSuperset(of: written))
        for client in clients { #expect(try client.allCommitIDs("shared") == everything) }
        try await server.stop()
    }
}
