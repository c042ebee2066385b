import Foundation
import Testing
import TrellisTestSupport

/// Each bad input: exit non-zero, exactly one line on stderr, nothing on disk changed.
func expectRefused(_ s: CLIStore, _ args: [String], mentioning phrase: String, stdin: Data? = nil) throws {
    let before = snapshot(s.store)
    let r = try trellis(args, store: s.store, stdin: stdin)
    #expect(r.status != 0, "\(args) should fail")
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count == 1, "\(args): want one line, got \(r.stderr)")
    #expect(r.stderr.hasPrefix("trellis: error: "), "\(args): \(r.stderr)")
    #expect(r.stderr.contains(phrase), "\(args): \(r.stderr)")
    #expect(snapshot(s.store) == before, "\(args) changed the store")
}

@Test func badInputsGetOneClearLineAndChangeNothing() throws {
    let s = try CLIStore()
    let v1 = try s.put("tasks", "t1", #"{"a": 1}"#)
    try expectRefused(s, ["get", "nope", "t1"], mentioning: "unknown repository 'nope'")
    try expectRefused(s, ["keys", "nope"], mentioning: "unknown repository 'nope'")
    try expectRefused(s, ["get", "tasks", "missing"], mentioning: "unknown key 'missing'")
    try expectRefused(s, ["heads", "tasks", "missing"], mentioning: "unknown key 'missing'")
    try expectRefused(s, ["rm", "tasks", "missing"], mentioning: "unknown key 'missing'")
    try expectRefused(s, ["diff", "tasks", "missing"], mentioning: "unknown key 'missing'")
    try expectRefused(s, ["cat", String(repeating: "0", count: 64)], mentioning: "unknown commit")
    try expectRefused(s, ["cat", "xyz"], mentioning: "is not a commit id")
    try expectRefused(s, ["get", "tasks", "t1", "--at", "abcdef12"], mentioning: "unknown commit")
    try expectRefused(s, ["put", "tasks", "t1", "--parent", "deadbeef", "a=1"], mentioning: "unknown commit")
    try expectRefused(s, ["put", "tasks", "t2", "--parent", v1, "a=1"], mentioning: "is not a commit of 't2'")
    try expectRefused(s, ["put", "tasks", "t1", "--json", #"{"a": "#], mentioning: "malformed JSON")
    try expectRefused(s, ["put", "tasks", "t1", "--json", "[1]"], mentioning: "must be a JSON object")
    try expectRefused(s, ["put", "tasks", "t1", "--file", "-"], mentioning: "malformed JSON", stdin: Data("{oops".utf8))
    try expectRefused(s, ["put", "tasks", "t1", "--file", "/nonexistent/file.json"], mentioning: "cannot read")
    try expectRefused(s, ["put", "tasks", "t1", #"x:={"#], mentioning: "malformed JSON")
    try expectRefused(s, ["put", "tasks", "t1", "noequals"], mentioning: "not an assignment")
    try expectRefused(s, ["put", "tasks", "t1", "--json", #"{"a": {"$counter": "x"}}"#], mentioning: "$counter needs an integer")
    try expectRefused(s, ["put", "tasks", "t1", "--json", #"{"a": {"$date": "soon"}}"#], mentioning: "$date needs an ISO 8601")
    try expectRefused(s, ["put", "tasks", "t1", "--json", #"{"a": {"$bytes": "!!"}}"#], mentioning: "$bytes needs")
    try expectRefused(s, ["put", "tasks", "t1", "--json", #"{"a": {"$nope": 1}}"#], mentioning: "unknown wrapper")
    try expectRefused(s, ["put", "bad/repo", "t1", "a=1"], mentioning: "invalid repository name")
}

@Test func argumentErrorsExitNonZero() throws {
    let s = try CLIStore()
    let before = snapshot(s.store)
    for args in [["put", "r", "k"], ["put", "r", "k", "--json", "{}", "a=1"], ["cat", "abcd", "--raw", "--json"], ["log", "r", "-n", "-1"], ["frobnicate"]] {
        let r = try trellis(args, store: s.store)
        #expect(r.status != 0, "\(args)")
        #expect(!r.stderr.isEmpty)
    }
    #expect(snapshot(s.store) == before)
}

@Test func missingOrUnreadableStoresAreReported() throws {
    let dir = TemporaryDirectory()
    // No store anywhere above "/".
    let none = try trellis(["repos"], directory: "/")
    #expect(none.status != 0 && none.stderr.contains("no Trellis store found"))
    let missing = try trellis(["repos", "--store", dir.file("nothing-here")])
    #expect(missing.status != 0 && missing.stderr.contains("no Trellis store at"))
    // A plain file where the store should be.
    FileManager.default.createFile(atPath: dir.file("file"), contents: Data("x".utf8))
    let file = try trellis(["repos", "--store", dir.file("file")])
    #expect(file.status != 0 && file.stderr.split(separator: "\n").count == 1)
    // A store whose FORMAT marker is garbage, or whose identity is damaged.
    _ = try trellis(["init", dir.file("s")])
    let store = dir.file("s") + "/.trellis"
    try Data("not a store\n".utf8).write(to: URL(fileURLWithPath: store + "/FORMAT"))
    let bad = try trellis(["repos", "--store", store])
    #expect(bad.status != 0 && bad.stderr.contains("unknown store format"))
    try Data("trellis-store 1\n".utf8).write(to: URL(fileURLWithPath: store + "/FORMAT"))
    try Data("zz\n".utf8).write(to: URL(fileURLWithPath: store + "/identity"))
    let badKey = try trellis(["identity", "--store", store])
    #expect(badKey.status != 0 && badKey.stderr.contains("identity"))
    // init refuses to overwrite a store.
    let again = try trellis(["init", dir.file("s")])
    #expect(again.status != 0 && again.stderr.contains("already exists"))
}

@Test func identityFileIsPrivate() throws {
    let s = try CLIStore()
    let attrs = try FileManager.default.attributesOfItem(atPath: s.store + "/identity")
    #expect((attrs[.posixPermissions] as? Int) == 0o600)
    #expect(try s.ok(["identity"]).out.trimmingCharacters(in: .newlines).count == 64)
}

@Test func refusedWritesToNewRepositoriesCreateNothing() throws {
    let s = try CLIStore()
    _ = try s.put("tasks", "t1", #"{"a": 1}"#)
    let v1 = try s.ok(["heads", "tasks", "t1"]).out.prefix(64)
    try expectRefused(s, ["rm", "fresh", "k"], mentioning: "unknown repository 'fresh'")
    try expectRefused(s, ["put", "fresh", "k", "--parent", String(v1), "a=1"], mentioning: "unknown repository 'fresh'")
    #expect(try s.ok(["repos"]).lines == ["tasks"])
}

@Test func fsckReportsDamageByOffsetAndExitsNonZero() throws {
    let s = try CLIStore()
    for n in 0..<5 { _ = try s.put("r", "k\(n)", #"{"n": \#(n)}"#) }
    let ok = try s.ok(["fsck", "--json"])
    let report = try JSONSerialization.jsonObject(with: ok.stdout) as? [String: Any] ?? [:]
    #expect(report["commits"] as? Int == 5 && (report["problems"] as? [String])?.isEmpty == true)
    let log = s.store + "/repos/r/log"
    var bytes = try Data(contentsOf: URL(fileURLWithPath: log))
    bytes[40] ^= 0xFF  // inside the first frame
    try bytes.write(to: URL(fileURLWithPath: log))
    let damaged = try trellis(["fsck"], store: s.store)
    #expect(damaged.status == 1)
    #expect(damaged.out.contains("offset 8: frame checksum mismatch"))
    #expect(damaged.out.contains("checked 4 commits"))  // the intact frames after it are still checked
}
