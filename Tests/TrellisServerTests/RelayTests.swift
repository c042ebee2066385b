import Foundation
import Testing
import Trellis
import TrellisCore
import TrellisCrypto
import TrellisSync
import TrellisStorage
import TrellisTestSupport
@testable import TrellisClient
@testable import TrellisServer

@Suite struct RelayTests {
    @Test(arguments: EngineKind.allCases) func relayForwardsVerifiedCommitsAndStoresNothing(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let relay = try await RunningServer.start(dir.file("relay"), engine: engine) { $0.relay = true }
        let (a, w, late, reader, outsider) = (try clientStore(dir, "a", engine), try clientStore(dir, "w", engine), try clientStore(dir, "late", engine),
                                              try clientStore(dir, "reader", engine), try clientStore(dir, "outsider", engine))
        for s in [a, w, late] { try relay.store.changeAccess("feed", grant: true, try s.identity, .write) }
        try relay.store.changeAccess("feed", grant: true, try reader.identity, .read)

        let seenW = Collected(), seenReader = Collected()
        _ = seenW.watch(w, relay.url, "feed")
        _ = seenReader.watch(reader, relay.url, "feed")
        #expect(await eventually { relay.server.broker.subscriberCount("feed") == 2 })

        // A pushes: both watchers store the commits, verified; the relay keeps none.
        let first = try await a.repository("feed").put("k", value: ["v": 1])
        let report = try await a.sync(url: relay.url)
        #expect(report.commitsSent == 1)
        #expect(await eventually { seenW.ids == [first] && seenReader.ids == [first] })
        #expect(try relay.store.repositoryNames().isEmpty)

        // A second push sends only what is new since the first.
        let second = try await a.repository("feed").put("k", value: ["v": 2])
        #expect(try await a.sync(url: relay.url).commitsSent == 1)
        #expect(await eventually { seenW.ids == [first, second] })

        // A watcher that joins late gets a child whose parent it lacks, asks the other clients
        // for the parent (NEED), and a writer that holds it answers.
        let seenLate = Collected()
        _ = seenLate.watch(late, relay.url, "feed")
        #expect(await eventually { relay.server.broker.subscriberCount("feed") == 3 })
        let third = try await a.repository("feed").put("k", value: ["v": 3])
        _ = try await a.sync(url: relay.url)
        #expect(await eventually { Set(seenLate.ids) == [first, second, third] })
        #expect(try late.allCommitIDs("feed") == a.allCommitIDs("feed"))

        // Refused: an outsider's push and a reader's push, each with a clear error; nothing is forwarded.
        try await outsider.repository("feed").put("x", value: ["v": 0])
        let refused = await failure { try await outsider.sync(url: relay.url, repositories: ["feed"]) }
        #expect(refused?.contains("may not write to repository 'feed'") == true)
        try await reader.repository("feed").put("y", value: ["v": 0])
        let readOnly = await failure { try await reader.sync(url: relay.url, repositories: ["feed"]) }
        #expect(readOnly?.contains("may not write to repository 'feed'") == true)
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(seenW.ids == [first, second, third])
        #expect(try relay.store.repositoryNames().isEmpty)
        try await relay.stop()
    }

    @Test(arguments: EngineKind.allCases) func relayRefusesForgedCommitsAndSyncMessages(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let relay = try await RunningServer.start(dir.file("relay"), engine: engine) {
            $0.relay = true
            $0.open = true
        }
        let writer = try clientStore(dir, "w", engine)
        let id = try await writer.repository("feed").put("k", value: ["v": 1])
        let commit = try writer.commit(id)
        var flipped = commit.signature
        flipped[0] ^= 1
        let forged = flipped
        let port = relay.port
        let key = try writer.engine.identity
        let replies = try await onThread { () throws -> [String] in
            var out: [String] = []
            for message in [ServerMessage.push(repository: "feed", commits: [WireCommit(encoded: commit.encoded, signature: forged)]).encoded(),
                            ServerMessage.push(repository: "other", commits: [WireCommit(commit)]).encoded(),
                            [1, 1] + [UInt8](repeating: 0, count: 64)] {
                let s = try RawSocket(port: port)
                guard try s.upgrade(), let challenge = s.readMessage(),
                      case .challenge(let server, let nonce, let isRelay) = try ServerMessage.decode(challenge), isRelay else {
                    throw RawSocketError("no relay challenge")
                }
                try s.sendBinary(ServerMessage.auth(client: key.publicKey.bytes, signature: key.sign(
                    ServerMessage.authMessage(server: server, nonce: nonce, client: key.publicKey.bytes))).encoded())
                _ = s.readMessage()
                try s.sendBinary(message)
                out.append(String(decoding: s.readMessage() ?? [], as: UTF8.self))
            }
            return out
        }
        #expect(replies[0].contains("signature"))
        #expect(replies[1].contains("belongs to repository 'feed'"))
        #expect(replies[2].contains("relay"))
        try await relay.stop()
    }
}
