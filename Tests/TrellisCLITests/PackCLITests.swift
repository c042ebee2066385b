import Foundation
import Testing
import TrellisTestSupport

/// Every commit id `trellis log --json` lists for a repository.
func loggedIDs(_ s: CLIStore, _ repo: String) throws -> Set<String> {
    let entries = try parse(try s.ok(["log", repo, "--json"])) as? [[String: Any]] ?? []
    return Set(entries.compactMap { $0["id"] as? String })
}

@Test func packsPassTheIndependentPythonReader() throws {
    let s = try CLIStore()
    var lines = ""
    for r in 0..<8 {
        for k in 0..<30 { lines += #"{"key": "k\#(k)", "doc": {"rev": \#(r), "name": "record \#(k)", "note": {"$text": "line \#(r)\n"}}}"# + "\n" }
    }
    let file = s.dir.path + "/in.jsonl"
    try lines.write(toFile: file, atomically: true, encoding: .utf8)
    _ = try s.ok(["import", "main", file, "--batch", "50"])
    let history = try parse(try s.ok(["log", "main", "k0", "--json"])) as? [[String: Any]] ?? []
    _ = try s.put("main", "k0", #"{"fork": 1}"#, parents: [history.last?["id"] as? String ?? ""])
    _ = try s.ok(["merge", "main", "k0"])  // writes a merge commit
    let repack = try parse(try s.ok(["repack", "--depth", "3", "--json"])) as? [[String: Any]] ?? []
    #expect(repack.first?["commits"] as? Int == 240 + 2)
    #expect((repack.first?["longest_chain"] as? Int ?? 99) <= 3)
    _ = try s.put("main", "k1", #"{"after": "repack"}"#)  // one commit in the log
    let script = TestPaths.packageRoot + "/Tests/verify/read_packs.py"
    let r = try run("/usr/bin/env", ["python3", script, s.store])
    #expect(r.status == 0, "reader: \(r.stderr)")
    let found = try JSONSerialization.jsonObject(with: r.stdout) as? [String: [String]] ?? [:]
    #expect(Set(found["main"] ?? []) == (try loggedIDs(s, "main")))
    let stats = try parse(try s.ok(["stats", "main", "--json"])) as? [[String: Any]] ?? []
    #expect(stats.first?["commits"] as? Int == 243 && stats.first?["log_commits"] as? Int == 1 && stats.first?["packs"] as? Int == 1)
    #expect((stats.first?["compression_ratio"] as? Double ?? 0) > 1)
    #expect(try s.ok(["stats"]).out.contains("delta chains:"))
    // A flipped byte in the index is caught by the reader and by fsck; fsck --repair rewrites it.
    let before = try loggedIDs(s, "main")
    let packs = s.store + "/repos/main/packs"
    let index = packs + "/" + (try FileManager.default.contentsOfDirectory(atPath: packs).first { $0.hasSuffix(".idx") } ?? "")
    var bytes = try Data(contentsOf: URL(fileURLWithPath: index))
    bytes[2000] ^= 0x04
    try bytes.write(to: URL(fileURLWithPath: index))
    #expect(try run("/usr/bin/env", ["python3", script, s.store]).status != 0)
    let fsck = try trellis(["fsck"], store: s.store)
    #expect(fsck.status == 1 && fsck.out.contains(index))
    #expect(try loggedIDs(s, "main") == before)  // still readable, by reading the pack
    let repaired = try trellis(["fsck", "--repair"], store: s.store)
    #expect(repaired.status == 0, "\(repaired.out) \(repaired.stderr)")
    #expect(try run("/usr/bin/env", ["python3", script, s.store]).status == 0)
    #expect(try loggedIDs(s, "main") == before)
}

@Test func repackAndStatsRefuseBadArguments() throws {
    let s = try CLIStore()
    _ = try s.put("r", "k", #"{"a": 1}"#)
    for args in [["repack", "nope"], ["stats", "nope"], ["repack", "--depth", "-1"], ["repack", "--depth", "x"]] {
        let r = try trellis(args, store: s.store)
        #expect(r.status != 0, "\(args)")
        let first = r.stderr.split(separator: "\n").first ?? ""
        #expect(first.hasPrefix("trellis: error:") || first.hasPrefix("Error:"), "\(args): \(r.stderr)")
    }
}

/// An app that syncs links `TrellisClient`, which must not bring the server (Hummingbird's
/// HTTP server, service lifecycle) with it. (Read from the manifest: running SwiftPM here would
/// wait for the lock that `swift test` holds.)
@Test func theClientModuleLinksNoServer() throws {
    let manifest = try String(contentsOfFile: TestPaths.packageRoot + "/Package.swift", encoding: .utf8)
    let start = try #require(manifest.range(of: ".target(\n            name: \"TrellisClient\","))
    let end = try #require(manifest.range(of: "\n        ),", range: start.upperBound..<manifest.endIndex))
    let target = String(manifest[start.upperBound..<end.lowerBound])
    #expect(target.contains("\"HummingbirdWSClient\""))
    for server in ["TrellisServer", "\"Hummingbird\"", "HummingbirdCore", "HummingbirdWebSocket", "ServiceLifecycle", "NIOPosix"] {
        #expect(!target.contains(server), "TrellisClient depends on \(server)")
    }
}

/// `trellis upgrade` moves a format 1 store to format 3 and repacks it; `stats` shows the
/// signatures that remain and the bytes of each kind of file; the Python readers accept the result.
@Test func upgradeDropsCoveredSignaturesAndTheReadersAgree() throws {
    let s = try CLIStore()
    try "trellis-store 1\n".write(toFile: s.store + "/FORMAT", atomically: true, encoding: .utf8)
    var lines = ""
    for r in 0..<5 {
        for k in 0..<20 { lines += #"{"key": "k\#(k)", "doc": {"rev": \#(r)}}"# + "\n" }
    }
    let file = s.dir.path + "/in.jsonl"
    try lines.write(toFile: file, atomically: true, encoding: .utf8)
    _ = try s.ok(["import", "main", file])
    _ = try s.ok(["repack"])
    func stats() throws -> [String: Any] {
        (try parse(try s.ok(["stats", "main", "--json"])) as? [[String: Any]])?.first ?? [:]
    }
    #expect(try stats()["signatures"] as? Int == 100)
    let formatOne = try run("/usr/bin/env", ["python3", TestPaths.packageRoot + "/Tests/verify/read_packs.py", s.store])
    #expect(formatOne.status == 0, "\(formatOne.stderr)")
    let upgraded = try parse(try s.ok(["upgrade", "--json"])) as? [String: Any] ?? [:]
    #expect(upgraded["format_before"] as? Int == 1 && upgraded["format"] as? Int == 3)
    #expect(try String(contentsOfFile: s.store + "/FORMAT", encoding: .utf8) == "trellis-store 3\n")
    let after = try stats()
    #expect(after["signatures"] as? Int == 20 && after["commits"] as? Int == 100)
    let parts = ["pack_bytes", "index_bytes", "checkpoint_bytes", "log_bytes"].map { after[$0] as? Int ?? -1 }
    #expect(parts.reduce(0, +) == after["bytes_on_disk"] as? Int && parts.allSatisfy { $0 > 0 })
    #expect(try s.ok(["upgrade"]).out.contains("already in format 3"))
    #expect(try trellis(["fsck"], store: s.store).status == 0)
    let packs = try run("/usr/bin/env", ["python3", TestPaths.packageRoot + "/Tests/verify/read_packs.py", s.store])
    #expect(packs.status == 0, "\(packs.stderr)")
    let ids = try loggedIDs(s, "main").sorted()
    let verified = try run("/usr/bin/env", ["python3", TestPaths.packageRoot + "/Tests/verify/verify_commits.py", TestPaths.trellis, s.store] + ids)
    #expect(verified.status == 0, "\(verified.stderr)")
    // Without the newest commit of its record, an older one has nothing that covers it.
    let history = try parse(try s.ok(["log", "main", "k0", "--json"])) as? [[String: Any]] ?? []
    let first = history.last?["id"] as? String ?? ""
    let alone = try run("/usr/bin/env", ["python3", TestPaths.packageRoot + "/Tests/verify/verify_commits.py", TestPaths.trellis, s.store, first])
    #expect(alone.status != 0 && alone.stderr.contains("covers"), "\(alone.stderr)")
}
