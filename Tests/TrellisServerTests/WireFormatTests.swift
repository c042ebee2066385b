import Foundation
import Testing
import Trellis
import TrellisCrypto
import TrellisTestSupport
@testable import TrellisClient
@testable import TrellisServer

/// The server's messages, captured off the socket, decoded and checked by the independent
/// Python reader written from docs/server.md (Tests/verify/read_server.py).
@Test func serverMessagesPassTheIndependentReader() async throws {
    let dir = TemporaryDirectory()
    let server = try await RunningServer.start(dir.file("server"))
    let client = try clientStore(dir, "client")
    try server.store.changeAccess("feed", grant: true, try client.identity, .write)
    let key = try client.engine.identity
    let port = server.port
    let captured = dir.file("messages")
    try FileManager.default.createDirectory(atPath: captured, withIntermediateDirectories: true)

    // Challenge, authentication, READY and a subscription, as a client sends and sees them.
    let socket = try await onThread { () throws -> RawSocket in
        let s = try RawSocket(port: port)
        guard try s.upgrade(), let challenge = s.readMessage(),
              case .challenge(let serverKey, let nonce, _) = try ServerMessage.decode(challenge) else { throw RawSocketError("no challenge") }
        let auth = ServerMessage.auth(client: key.publicKey.bytes,
                                      signature: key.sign(ServerMessage.authMessage(server: serverKey, nonce: nonce, client: key.publicKey.bytes))).encoded()
        try s.sendBinary(auth)
        guard let ready = s.readMessage() else { throw RawSocketError("no READY") }
        let subscribe = ServerMessage.subscribe(["feed"]).encoded()
        try s.sendBinary(subscribe)
        for (n, bytes) in [challenge, auth, ready, subscribe].enumerated() {
            try Data(bytes).write(to: URL(fileURLWithPath: captured + "/\(n)"))
        }
        return s
    }
    #expect(await eventually { server.server.broker.subscriberCount("feed") == 1 })
    // Another store writes two commits and syncs: the subscriber gets them in a PUSH.
    let writer = try clientStore(dir, "writer")
    try server.store.changeAccess("feed", grant: true, try writer.identity, .write)
    let ids = [try await writer.repository("feed").put("a", value: ["v": 1]), try await writer.repository("feed").put("a", value: ["v": 2])]
    try await writer.sync(url: server.url)
    let push = try #require(try await onThread { socket.readMessage() })
    try Data(push).write(to: URL(fileURLWithPath: captured + "/4"))

    let files = (0...4).map { captured + "/\($0)" }
    let r = try run("/usr/bin/env", ["python3", TestPaths.packageRoot + "/Tests/verify/read_server.py"] + files)
    #expect(r.status == 0, "reader: \(r.stderr)")
    let messages = try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]] ?? []
    #expect(messages.map { $0["type"] as? String } == ["CHALLENGE", "AUTH", "READY", "SUBSCRIBE", "PUSH"])
    #expect(try messages[0]["server"] as? String == Hex.encode(server.store.identity.bytes))
    #expect(messages[1]["signature_valid"] as? Bool == true)
    #expect((messages[2]["access"] as? [[String: Any]])?.first?["name"] as? String == "feed")
    #expect(messages[4]["commits"] as? [String] == ids.map(\.hex))

    // A signature over another nonce fails the reader.
    var forged = try Data(contentsOf: URL(fileURLWithPath: files[1]))
    forged[forged.count - 1] ^= 1
    try forged.write(to: URL(fileURLWithPath: files[1]))
    let bad = try run("/usr/bin/env", ["python3", TestPaths.packageRoot + "/Tests/verify/read_server.py"] + files)
    #expect(bad.status == 1)
    socket.reset()
    try await server.stop()
}
