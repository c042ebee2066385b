import Foundation
import Testing
import TrellisTestSupport

@Test func syncAndBundlesThroughTheCLIPassTheIndependentReader() throws {
    let a = try CLIStore(), b = try CLIStore()
    for k in 0..<5 { _ = try a.put("notes", "a\(k)", #"{"n": \#(k), "t": {"$text": "x\n"}}"#) }
    for k in 0..<3 { _ = try b.put("notes", "b\(k)", #"{"n": \#(k)}"#) }
    let bIDs = try loggedIDs(b, "notes")
    let idsFile = a.dir.path + "/ids.txt"
    try bIDs.joined(separator: "\n").write(toFile: idsFile, atomically: true, encoding: .utf8)

    // First contact, traced: the responder's filter covers every commit it holds.
    let trace = a.dir.path + "/trace"
    let report = try parse(try a.ok(["sync", b.dir.path, "--json", "--trace", trace])) as? [String: Int] ?? [:]
    #expect(report["commits_sent"] == 5 && report["commits_received"] == 3)
    #expect(Set(report.keys) == ["rounds", "commits_sent", "commits_received", "bytes_sent", "bytes_received", "commits_withheld",
                              "records_with_several_heads", "pending_conflicts"])
    let reader = TestPaths.packageRoot + "/Tests/verify/read_sync.py"
    let r = try run("/usr/bin/env", ["python3", reader, "trace", trace, idsFile])
    #expect(r.status == 0, "reader: \(r.stderr)")
    let messages = try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]] ?? []
    #expect(messages.first?["type"] as? String == "HELLO")
    let welcome = messages.first { $0["type"] as? String == "WELCOME" }
    #expect(welcome?["filter_n"] as? Int == 3 && welcome?["filter_contains"] as? Int == 3)
    let carried = Set(messages.flatMap { $0["commits"] as? [String] ?? [] })
    #expect(carried == (try loggedIDs(a, "notes")))
    #expect(try loggedIDs(a, "notes") == loggedIDs(b, "notes"))
    // The reported bytes are the messages' bytes.
    func traced(_ suffix: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: trace).filter { $0.hasSuffix(suffix) }
            .reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: trace + "/" + $1)[.size] as? Int) ?? 0) }
    }
    let sentBytes = try traced("-sent.bin"), receivedBytes = try traced("-received.bin")
    #expect(report["bytes_sent"] == sentBytes && report["bytes_received"] == receivedBytes)

    // Nothing new: one round trip, under 200 bytes.
    let idle = try parse(try b.ok(["sync", a.dir.path, "--json"])) as? [String: Int] ?? [:]
    #expect(idle["rounds"] == 1 && (idle["bytes_sent"] ?? 999) + (idle["bytes_received"] ?? 999) < 200)
    #expect(try b.ok(["sync", a.dir.path]).out.contains("1 round trip"))

    // A bundle carries everything offline; the reader checks it independently.
    let bundle = a.dir.path + "/notes.bundle"
    _ = try a.ok(["bundle", "create", bundle, "notes"])
    let rb = try run("/usr/bin/env", ["python3", reader, "bundle", bundle])
    #expect(rb.status == 0, "reader: \(rb.stderr)")
    let parsed = try JSONSerialization.jsonObject(with: rb.stdout) as? [String: Any] ?? [:]
    #expect(Set(parsed["ids"] as? [String] ?? []) == (try loggedIDs(a, "notes")))
    let c = try CLIStore()
    let applied = try parse(try c.ok(["bundle", "apply", bundle, "--json"])) as? [String: Any] ?? [:]
    #expect(applied["commits"] as? Int == 8)
    #expect(try loggedIDs(c, "notes") == loggedIDs(a, "notes"))
    #expect(try c.ok(["get", "notes", "b1", "--json"]).out.contains("1"))

    // Damaged and truncated bundles are refused whole, with one clear error.
    var bytes = try Data(contentsOf: URL(fileURLWithPath: bundle))
    bytes[bytes.count / 2] ^= 0x40
    try bytes.write(to: URL(fileURLWithPath: bundle + ".bad"))
    try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: bundle + ".short"))
    let d = try CLIStore()
    for file in [bundle + ".bad", bundle + ".short", a.dir.path + "/missing.bundle", idsFile] {
        let bad = try trellis(["bundle", "apply", file], store: d.store)
        #expect(bad.status != 0)
        #expect(bad.stderr.hasPrefix("trellis: error:") && bad.stderr.split(separator: "\n").count == 1)
    }
    #expect(try d.ok(["repos"]).out.isEmpty)
    let python = try run("/usr/bin/env", ["python3", reader, "bundle", bundle + ".bad"])
    #expect(python.status != 0)

    // Wrong arguments: not a store, the store itself, a bad repository name.
    for args in [["sync", d.dir.path + "/nowhere"], ["sync", a.dir.path], ["sync", b.dir.path, "../x"]] {
        let bad = try trellis(args, store: a.store)
        #expect(bad.status != 0 && bad.stderr.hasPrefix("trellis: error:"))
    }
}
