import Foundation
import Logging
import Testing
import Trellis
import TrellisCrypto
import TrellisStorage
import TrellisSync
import TrellisTestSupport
@testable import TrellisClient
@testable import TrellisServer

/// Hostile and broken clients: each gets an error or a closed socket, the server keeps serving
/// everyone else, and its store loses nothing.
@Suite(.serialized) struct RobustnessTests {
    /// A raw WebSocket that has answered the challenge with `key`.
    func authenticated(_ port: Int, _ key: SigningKey) async throws -> RawSocket {
        try await onThread { try handshake(port, key) }
    }

    func handshake(_ port: Int, _ key: SigningKey, receiveBuffer: Int32? = nil) throws -> RawSocket {
        let s = try RawSocket(port: port, receiveBuffer: receiveBuffer)
        guard try s.upgrade() else { throw RawSocketError("no upgrade") }
        guard let challenge = s.readMessage(), case .challenge(let server, let nonce, _) = try ServerMessage.decode(challenge) else {
            throw RawSocketError("no challenge")
        }
        let sig = key.sign(ServerMessage.authMessage(server: server, nonce: nonce, client: key.publicKey.bytes))
        try s.sendBinary(ServerMessage.auth(client: key.publicKey.bytes, signature: sig).encoded())
        guard let ready = s.readMessage(), case .ready = try ServerMessage.decode(ready) else { throw RawSocketError("no READY") }
        return s
    }

    /// The server still serves a well-behaved client, and its store is intact.
    func stillServing(_ server: RunningServer, _ dir: TemporaryDirectory, _ label: String) async throws {
        let client = try clientStore(dir, "good-" + label)
        try await client.repository("r").put("k-" + label, value: ["v": 1])
        try await client.sync(url: server.url)
        #expect(try server.store.allCommitIDs("r").isSuperset(of: client.allCommitIDs("r")))
        #expect(try isIntact(server.store))
    }

    @Test(arguments: EngineKind.allCases) func nonWebSocketTrafficIsDropped(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) {
            $0.open = true
            $0.httpIdleTimeout = 2
        }
        try await stillServing(server, dir, "first")
        let before = try server.store.allCommitIDs("r")
        let port = server.port
        let results = try await onThread { () throws -> [Bool] in
            // Not HTTP at all: dropped once the upgrade deadline passes.
            let garbage = try RawSocket(port: port)
            try garbage.send(Array((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
            // HTTP, but not an upgrade; and an upgrade on the wrong path.
            // The headers and the body may arrive in separate reads, and on a loaded machine the
            // idle deadline may pass first: a few tries on fresh connections.
            var health = false
            for _ in 0..<3 where !health {
                let plain = try RawSocket(port: port)
                try plain.send(Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                var response: [UInt8] = []
                while !String(decoding: response, as: UTF8.self).contains("\"status\":\"ok\""),
                      let chunk = plain.receive(), !chunk.isEmpty {
                    response += chunk
                }
                health = String(decoding: response, as: UTF8.self).contains("\"status\":\"ok\"")
            }
            let wrongPath = try RawSocket(port: port)
            return [garbage.closedByPeer(), health, try !wrongPath.upgrade(path: "/elsewhere")]
        }
        #expect(results == [true, true, true])
        #expect(try server.store.allCommitIDs("r") == before)
        try await stillServing(server, dir, "after")
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func badMessagesBeforeAuthenticationAreRefused(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) { $0.open = true }
        let port = server.port
        let results = try await onThread { () throws -> [String] in
            var out: [String] = []
            // A text message, a malformed binary one, a foreign one, and more than 1 KiB.
            for (opcode, payload) in [(UInt8(1), Array("hello".utf8)), (UInt8(2), [1, 17, 0, 0]), (UInt8(2), [9, 9, 9]),
                                      (UInt8(2), [UInt8](repeating: 1, count: 4000))] {
                let s = try RawSocket(port: port)
                guard try s.upgrade(), s.readMessage() != nil else { throw RawSocketError("no challenge") }
                try s.sendFrame(opcode: opcode, payload)
                out.append(s.closedByPeer() ? "closed" : "open")
            }
            // A signature that does not answer the challenge.
            let forger = try RawSocket(port: port)
            guard try forger.upgrade(), forger.readMessage() != nil else { throw RawSocketError("no challenge") }
            try forger.sendBinary(ServerMessage.auth(client: try SigningKey.generate().publicKey.bytes,
                                                     signature: [UInt8](repeating: 7, count: 64)).encoded())
            out.append(String(decoding: forger.readMessage() ?? [], as: UTF8.self))
            out.append(forger.closedByPeer() ? "closed" : "open")
            return out
        }
        #expect(Array(results.prefix(4)) == Array(repeating: "closed", count: 4))
        #expect(results[4].contains("authentication failed"))
        #expect(results[5] == "closed")
        try await stillServing(server, dir, "after")
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func badMessagesAfterAuthenticationAreRefused(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) {
            $0.open = true
            $0.maxMessageBytes = 1 << 20
        }
        try await stillServing(server, dir, "first")
        let before = try server.store.allCommitIDs("r")
        let port = server.port
        let key = try SigningKey.generate()
        let results = try await onThread { () throws -> [Bool] in
            // An oversized message, a malformed one, and bad fragmentation.
            let big = try handshake(port, key)
            for i in 0..<3 { try? big.sendFrame(opcode: i == 0 ? 2 : 0, [UInt8](repeating: 0, count: 600_000), fin: false) }
            let malformed = try handshake(port, key)
            try malformed.sendBinary([1, 3, 0xff, 0xff])
            let fragments = try handshake(port, key)
            try fragments.sendFrame(opcode: 0, [1, 2, 3])
            return [big.closedByPeer(), malformed.closedByPeer(), fragments.closedByPeer()]
        }
        #expect(results == [true, true, true])
        #expect(try server.store.allCommitIDs("r") == before)
        try await stillServing(server, dir, "after")
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func silentAndHalfOpenClientsAreDropped(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) {
            $0.open = true
            $0.authTimeout = 0.5
            $0.sessionTimeout = 0.5
        }
        let other = try clientStore(dir, "stalled", engine)
        try await other.repository("r").put("k", value: ["v": 1])
        let hello = try SyncInitiator(engine: other.engine, address: "test", repositories: ["r"]).hello()
        let (port, key) = (server.port, try other.engine.identity)
        let results = try await onThread { () throws -> [Bool] in
            // Connected, upgraded, never authenticates.
            let silent = try RawSocket(port: port)
            guard try silent.upgrade() else { throw RawSocketError("no upgrade") }
            // Authenticates, starts a sync, then goes quiet mid-session.
            let stalled = try handshake(port, key)
            try stalled.sendBinary(hello)
            _ = stalled.readMessage()
            return [silent.closedByPeer(), stalled.closedByPeer()]
        }
        #expect(results == [true, true])
        try await stillServing(server, dir, "after")
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func abruptDisconnectMidSyncLosesNothing(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) { $0.open = true }
        let client = try clientStore(dir, "client", engine)
        for i in 0..<300 { try await client.repository("r").put("k\(i)", value: ["v": "\(i)", "pad": String(repeating: "x", count: 2000)]) }
        let (port, engine) = (server.port, client.engine)
        for _ in 0..<5 {
            let initiator = try SyncInitiator(engine: engine, address: "abrupt", repositories: ["r"])
            let hello = try initiator.hello()
            let s = try await onThread { () throws -> RawSocket in
                let s = try handshake(port, try engine.identity)
                try s.sendBinary(hello)
                return s
            }
            if let reply = try await onThread({ s.readMessage() }), let next = try initiator.handle(reply) {
                // Send the first half of the commits' message, then vanish.
                try await onThread { try s.sendFrame(opcode: 2, Array(next.prefix(next.count / 2)), fin: false) }
            }
            s.reset()
        }
        // Whatever arrived is whole and verified; a proper sync then completes the set.
        #expect(try isIntact(server.store))
        try await client.sync(url: server.url)
        #expect(try server.store.allCommitIDs("r") == client.allCommitIDs("r"))
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func slowReaderIsDroppedWithoutHoldingUpOthers(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) {
            $0.open = true
            $0.maxPendingPushBytes = 64 << 10
        }
        // Subscribes, then never reads a byte.
        let port = server.port
        let slow = try await onThread { () throws -> RawSocket in
            let s = try handshake(port, try SigningKey.generate(), receiveBuffer: 4096)
            try s.sendBinary(ServerMessage.subscribe(["r"]).encoded())
            return s
        }
        let watcher = try clientStore(dir, "watcher", engine)
        let seen = Collected()
        _ = seen.watch(watcher, server.url, "r")
        try await Task.sleep(nanoseconds: 300_000_000)

        let writer = try clientStore(dir, "writer", engine)
        var written: [CommitID] = []
        // About 8 MB of pushes: more than the kernel's socket buffers can absorb.
        for round in 0..<8 {
            for i in 0..<100 {
                written.append(try await writer.repository("r").put("k\(round)-\(i)", value: ["pad": String(repeating: "\(i % 10)", count: 10_000)]))
            }
            try await writer.sync(url: server.url)
        }
        #expect(await eventually(60) { Set(seen.ids) == Set(written) })
        #expect(try await onThread { slow.closedByPeer() })
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func inboundBudgetBoundsMemoryAcrossConnections(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) {
            $0.open = true
            $0.inboundBudget = 3 << 20
        }
        // Three clients each hold an unfinished 1.5 MB message: the budget refuses the third.
        let port = server.port
        let sockets = try await onThread { () throws -> [RawSocket] in
            var sockets: [RawSocket] = []
            for _ in 0..<3 {
                let s = try handshake(port, try SigningKey.generate())
                try s.sendFrame(opcode: 2, [1, 3] + [UInt8](repeating: 0, count: 1_000_000), fin: false)
                try? s.sendFrame(opcode: 0, [UInt8](repeating: 0, count: 500_000), fin: false)
                sockets.append(s)
                Thread.sleep(forTimeInterval: 0.2)
            }
            return sockets
        }
        #expect(try await onThread { sockets[2].closedByPeer() })
        #expect(server.server.budget.inUse <= 3 << 20)
        for s in sockets { s.reset() }
        #expect(await eventually { server.server.budget.inUse == 0 })
        try await stillServing(server, dir, "after")
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func oneClientCannotTakeTheWholeInboundBudget(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) {
            $0.open = true
            $0.inboundBudget = 8 << 20
            $0.maxClientInboundBytes = 2 << 20
        }
        let port = server.port
        let greedy = try SigningKey.generate()
        let other = try SigningKey.generate()
        // One key holds an unfinished 1.5 MB message on each of two connections: the second
        // passes its share. Another key can still hold as much.
        let sockets = try await onThread { () throws -> [RawSocket] in
            var sockets: [RawSocket] = []
            for key in [greedy, greedy, other] {
                let s = try handshake(port, key)
                try s.sendFrame(opcode: 2, [1, 3] + [UInt8](repeating: 0, count: 1_000_000), fin: false)
                try? s.sendFrame(opcode: 0, [UInt8](repeating: 0, count: 500_000), fin: false)
                sockets.append(s)
                Thread.sleep(forTimeInterval: 0.2)
            }
            return sockets
        }
        #expect(try await onThread { sockets[1].closedByPeer() })
        #expect(await eventually { server.server.budget.inUse(by: "key " + Hex.encode(other.publicKey.bytes)) == 1_500_002 })
        #expect(server.server.budget.inUse(by: "key " + Hex.encode(greedy.publicKey.bytes)) <= 2 << 20)
        try await stillServing(server, dir, "while-held")
        for s in sockets { s.reset() }
        #expect(await eventually { server.server.budget.inUse == 0 })
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func floodsOfMessagesAreCutOffAndTheirLogLinesCapped(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let counter = CountingLogHandler.Counter()
        let logger = Logger(label: "trellis.test") { _ in CountingLogHandler(counter: counter) }
        let server = try await RunningServer.start(dir.file("server"), engine: engine, logger: logger) {
            $0.open = true
            $0.maxMessagesPerSecond = 50
            $0.messageBurst = 100
        }
        let port = server.port
        let before = counter.lines
        // 2,000 tiny SUBSCRIBE messages as fast as the socket takes them.
        let closed = try await onThread { () throws -> Bool in
            let s = try handshake(port, try SigningKey.generate())
            let subscribe = ServerMessage.subscribe(["r"]).encoded()
            for _ in 0..<2000 { try? s.sendBinary(subscribe) }
            return s.closedByPeer()
        }
        #expect(closed)
        // Each message logs a line ("subscribed"); the connection caused at most its burst of
        // lines, one line counting the rest, and the refusal.
        #expect(counter.lines - before <= 30, "\(counter.lines - before) log lines")
        try await stillServing(server, dir, "after-flood")
        try await server.stop()
    }

    @Test(arguments: EngineKind.allCases) func connectionsFromOneAddressAreLimited(engine: EngineKind) async throws {
        let dir = TemporaryDirectory()
        let server = try await RunningServer.start(dir.file("server"), engine: engine) {
            $0.open = true
            $0.maxConnectionsPerAddress = 3
        }
        let port = server.port
        let sockets = try await onThread { () throws -> [RawSocket] in
            try (0..<3).map { _ in try handshake(port, try SigningKey.generate()) }
        }
        let refused = try await onThread { () throws -> Bool in
            let s = try RawSocket(port: port)
            guard try s.upgrade() else { return false }
            guard let message = s.readMessage(), case .error(let reason) = try SyncMessage.decode(message) else { return false }
            return reason.contains("too many connections") && s.closedByPeer()
        }
        #expect(refused)
        sockets[0].reset()
        // A slot frees when a connection ends.
        var admitted: RawSocket?
        for _ in 0..<50 where admitted == nil {
            admitted = try? await onThread { try handshake(port, try SigningKey.generate()) }
            if admitted == nil { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(admitted != nil)
        admitted?.reset()
        for s in sockets { s.reset() }
        try await server.stop()
    }
}
