import Foundation
import Testing
import TrellisTestSupport

/// `trellis serve`, `sync ws://`, `watch` and `acl` as separate processes, as users run them.
@Test func serveSyncWatchAndAccessListsThroughTheCLI() throws {
    let server = try CLIStore(), writer = try CLIStore(), outsider = try CLIStore()
    let serve = try BackgroundProcess(TestPaths.trellis, ["serve", "--port", "0", "--store", server.store, "--json-logs"])
    let listening = try #require(serve.line { $0.hasPrefix("listening on ws://") })
    let url = String(listening.dropFirst("listening on ".count))
    let port = try #require(Int(url.split(separator: ":").last ?? ""))

    // Health check.
    let health = try RawSocket(port: port)
    try health.send(Array("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
    #expect(String(decoding: health.receive() ?? [], as: UTF8.self).contains(#"{"status":"ok","mode":"store"}"#))

    let writerKey = try writer.ok(["identity"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
    let outsiderKey = try outsider.ok(["identity"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
    try server.ok(["acl", "tasks", "grant", writerKey, "write"])
    let shown = try parse(try server.ok(["acl", "tasks", "--json"])) as? [String: Any]
    #expect(shown?["writers"] as? [String] == [writerKey])

    let first = try writer.put("tasks", "t1", #"{"title": "one"}"#)
    let pushed = try parse(try writer.ok(["sync", url, "--json"])) as? [String: Int]
    #expect(pushed?["commits_sent"] == 1)

    // The outsider: one clear error line and exit status 1, for reading and for writing.
    _ = try outsider.put("tasks", "x", #"{"title": "intruder"}"#)
    let before = snapshot(server.store + "/repos")
    let refused = try trellis(["sync", url, "tasks"], store: outsider.store)
    #expect(refused.status == 1)
    #expect(refused.stderr == "trellis: error: the peer refused the sync: \(outsiderKey) may not read repository 'tasks'\n")
    #expect(snapshot(server.store + "/repos") == before)

    // Read access granted while the server runs: the outsider pulls and keeps its own commit.
    try server.ok(["acl", "tasks", "grant", outsiderKey, "read"])
    let pulled = try parse(try outsider.ok(["sync", url, "--json"])) as? [String: Int]
    #expect(pulled?["commits_received"] == 1 && pulled?["commits_withheld"] == 1, "\(String(describing: pulled))")
    #expect(snapshot(server.store + "/repos") == before)

    // A watcher prints each new commit as a JSON line.
    let watch = try BackgroundProcess(TestPaths.trellis, ["watch", url, "tasks", "--json", "--store", outsider.store])
    Thread.sleep(forTimeInterval: 0.5)
    let second = try writer.put("tasks", "t2", #"{"title": "two"}"#)
    try writer.ok(["sync", url])
    let line = try #require(watch.line { $0.contains(second) }, "watch printed: \(watch.lines) \(watch.stderr)")
    let change = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    #expect(change?["key"] as? String == "t2" && (change?["document"] as? [String: Any])?["title"] as? String == "two")
    #expect(!watch.lines.contains { $0.contains(first) })

    // SIGTERM: the server closes connections and exits cleanly; the watcher reports the loss.
    #expect(serve.stop() == 0)
    #expect(watch.stop(SIGINT, within: 10) != nil)
    #expect(serve.stderr.contains(#""message":"stopped""#))
    let gone = try trellis(["sync", url], store: writer.store)
    #expect(gone.status == 1 && gone.stderr.contains("cannot connect"))
}

/// Found by a fault-injection run: after another process repaired the damaged log of a store
/// that `trellis serve` was serving, the server refused every sync ("truncated frame") until
/// restarted. A running server re-reads what the repair rewrote, by itself.
@Test func aRunningServerRecoversWhenAnotherProcessRepairsItsStore() throws {
    let server = try CLIStore()
    var ids: [String] = []
    for n in 1...3 { ids.append(try server.put("tasks", "t\(n)", #"{"n": \#(n)}"#)) }  // three frames
    let serve = try BackgroundProcess(TestPaths.trellis, ["serve", "--open", "--port", "0", "--store", server.store])
    let listening = try #require(serve.line { $0.hasPrefix("listening on ws://") })
    let url = String(listening.dropFirst("listening on ".count))
    let first = try CLIStore()
    #expect(try parse(try first.ok(["sync", url, "--json"])) as? [String: Int] != nil)

    // One bit of the first frame's payload flips under the running server; another process repairs.
    let log = server.store + "/repos/tasks/log"
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: log)))
    bytes[8 + 16 + 5] ^= 0x04
    try Data(bytes).write(to: URL(fileURLWithPath: log))
    let repaired = try trellis(["fsck", "--repair"], store: server.store)
    #expect(repaired.status == 0, "\(repaired.stderr)")

    // Fresh clients sync with the same server process: everything intact arrives, writes land.
    let writer = try CLIStore()
    let fourth = try writer.put("tasks", "t4", #"{"n": 4}"#)
    let pushed = try trellis(["sync", url, "--json"], store: writer.store)
    #expect(pushed.status == 0, "\(pushed.stderr) / server: \(serve.stderr.suffix(2000))")
    let reader = try CLIStore()
    let pulled = try trellis(["sync", url, "--json"], store: reader.store)
    #expect(pulled.status == 0, "\(pulled.stderr) / server: \(serve.stderr.suffix(2000))")
    for id in ids.dropFirst() + [fourth] {
        #expect(try trellis(["cat", id], store: reader.store).status == 0, "commit \(id) did not reach a fresh client")
    }
    #expect(serve.stop() == 0)
}
