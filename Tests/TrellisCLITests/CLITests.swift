import Foundation
import Testing
import TrellisTestSupport

/// A temporary directory with an initialised store in DIR/.trellis.
final class CLIStore {
    let dir = TemporaryDirectory("trellis-cli")
    var store: String { dir.path + "/.trellis" }

    init() throws {
        let r = try trellis(["init", dir.path])
        #expect(r.status == 0, "init failed: \(r.stderr)")
    }

    @discardableResult
    func ok(_ args: [String], stdin: Data? = nil) throws -> ProcessResult {
        let r = try trellis(args, store: store, stdin: stdin)
        #expect(r.status == 0, "trellis \(args) failed: \(r.stderr)")
        return r
    }

    func put(_ repo: String, _ key: String, _ json: String, parents: [String] = []) throws -> String {
        let r = try ok(["put", repo, key, "--create", "--json", json] + parents.flatMap { ["--parent", $0] })
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

func parse(_ r: ProcessResult) throws -> Any { try JSONSerialization.jsonObject(with: r.stdout, options: [.fragmentsAllowed]) }

@Test func putEditGetLogDiffCat() throws {
    let s = try CLIStore()
    let v1 = try s.put("tasks", "t1", #"{"title": "Write docs", "done": false, "notes": {"$text": "a\nb\n"}}"#)
    #expect(v1.count == 64)
    let v2 = try s.ok(["put", "tasks", "t1", "done:=true", "owner=ann", #"notes:={"$text": "a\nB\n"}"#]).out.trimmingCharacters(in: .newlines)

    let got = try parse(try s.ok(["get", "tasks", "t1", "--json"])) as! [String: Any]
    #expect(got["done"] as? Bool == true)
    #expect(got["owner"] as? String == "ann")
    #expect((got["notes"] as? [String: String])?["$text"] == "a\nB\n")
    let old = try parse(try s.ok(["get", "tasks", "t1", "--json", "--at", String(v1.prefix(10))])) as! [String: Any]
    #expect(old["done"] as? Bool == false)

    let log = try parse(try s.ok(["log", "tasks", "--json"])) as! [[String: Any]]
    #expect(log.map { $0["id"] as? String } == [v2, v1])
    #expect(log[0]["parents"] as? [String] == [v1])
    #expect(log[0]["summary"] as? String == "~done ~notes +owner")
    #expect(try s.ok(["log", "tasks", "t1", "-n", "1"]).out.contains("commit \(v2)"))

    let diff = try parse(try s.ok(["diff", "tasks", "t1", "--json"])) as! [String: Any]
    #expect(diff["from"] as? String == v1)
    let changes = diff["changes"] as! [[String: Any]]
    #expect(changes.map { $0["field"] as? String } == ["done", "notes", "owner"])
    let text = try s.ok(["diff", "tasks", "t1", v1, v2]).out
    #expect(text.contains("- b") && text.contains("+ B") && text.contains("~ done: false -> true"))

    let cat = try parse(try s.ok(["cat", v2, "--json"])) as! [String: Any]
    #expect(cat["id"] as? String == v2)
    #expect((cat["signature"] as? String)?.count == 128)
    #expect(cat["author"] as? String == (try s.ok(["identity"])).out.trimmingCharacters(in: .newlines))
    #expect(try s.ok(["cat", v2, "--raw"]).stdout.prefix(4) == Data("TRLC".utf8))

    #expect(try s.ok(["repos"]).lines == ["tasks"])
    #expect(try s.ok(["keys", "tasks"]).lines == ["t1"])
    let rm = try s.ok(["rm", "tasks", "t1"]).out.trimmingCharacters(in: .newlines)
    #expect(try s.ok(["keys", "tasks", "--json"]).out.trimmingCharacters(in: .newlines) == "[]")
    #expect(try s.ok(["heads", "tasks", "t1"]).out.hasPrefix(rm))
    #expect(try s.ok(["get", "tasks", "t1", "--at", v2, "--json"]).status == 0)
}

@Test func parentsReplayConcurrentEditsAsSeveralHeads() throws {
    let s = try CLIStore()
    let base = try s.put("r", "k", #"{"a": 1}"#)
    let ours = try s.put("r", "k", #"{"a": 2}"#)
    let theirs = try s.put("r", "k", #"{"a": 3}"#, parents: [base])
    let heads = try parse(try s.ok(["heads", "r", "k", "--json"])) as! [[String: Any]]
    #expect(Set(heads.compactMap { $0["id"] as? String }) == [ours, theirs])
    #expect(heads.first?["id"] as? String == theirs)  // newest first
    #expect(try s.ok(["get", "r", "k", "--json"]).out.contains(#""a":3"#))
}

@Test func storeIsFoundByFlagEnvironmentAndParentDirectories() throws {
    let s = try CLIStore()
    _ = try s.put("r", "k", "{}")
    let nested = s.dir.path + "/a/b"
    try FileManager.default.createDirectory(atPath: nested, withIntermediateDirectories: true)
    #expect(try trellis(["keys", "r"], directory: nested).lines == ["k"])
    #expect(try trellis(["keys", "r"], environment: ["TRELLIS_STORE": s.dir.path], directory: "/").lines == ["k"])
    #expect(try trellis(["keys", "r", "--store", s.dir.path], directory: "/").lines == ["k"])
    #expect(try trellis(["keys", "r", "--store", s.store], directory: "/").lines == ["k"])
}

@Test func commitsPassTheIndependentPythonVerifier() throws {
    let s = try CLIStore()
    var ids = [
        try s.put("tasks", "t1", #"{"title": "Write docs", "done": false, "n": -300, "ratio": 0.1, "big": 1e300}"#),
        try s.put("tasks", "t1", #"{"when": {"$date": "2024-05-01T12:30:00.250+02:00"}, "blob": {"$bytes": "AAEC/w=="}}"#),
        try s.put("tasks", "ünï ☃", #"{"notes": {"$text": "line\nnext\n"}, "tags": {"$set": ["b", "a", 3, {"x": 1}]}}"#),
        try s.put("other", "k", #"{"hits": {"$counter": -9}, "nested": {"z": {"y": [1, "two", null, true]}}, "": "empty name"}"#),
    ]
    ids.append(try s.put("tasks", "t1", #"{"a": 1}"#, parents: [ids[0]]))
    ids.append(try s.ok(["rm", "tasks", "t1"]).out.trimmingCharacters(in: .newlines))
    let script = TestPaths.packageRoot + "/Tests/verify/verify_commits.py"
    let r = try run("/usr/bin/env", ["python3", script, TestPaths.trellis, s.store] + ids)
    #expect(r.status == 0, "verifier: \(r.out) \(r.stderr)")
    #expect(r.out.contains("\(ids.count) passed, 0 failed"))
    // The verifier is not a rubber stamp: a wrong id fails it.
    let forged = try run("/usr/bin/env", ["python3", script, TestPaths.trellis, s.store, String(repeating: "ab", count: 32)])
    #expect(forged.status != 0)
}

@Test func concurrentPutProcessesNeverCorruptTheStore() throws {
    let s = try CLIStore()
    _ = try s.put("r", "k", #"{"n": 0}"#)
    let writers = 6, each = 5
    let group = DispatchGroup()
    let failures = Failures()
    let storePath = s.store
    for w in 0..<writers {
        group.enter()
        DispatchQueue.global().async {
            for i in 0..<each {
                let r = try? trellis(["put", "r", "k", "w\(w)=\(i)"], store: storePath)
                if r?.status != 0 { failures.add(r?.stderr ?? "did not run") }
            }
            group.leave()
        }
    }
    group.wait()
    #expect(failures.all.isEmpty, "\(failures.all)")
    let log = try parse(try s.ok(["log", "r", "k", "--json"])) as! [[String: Any]]
    #expect(log.count == writers * each + 1)
    #expect(try s.ok(["heads", "r", "k"]).lines.count == 1)  // every put built on the one before
    let doc = try parse(try s.ok(["get", "r", "k", "--json"])) as! [String: Any]
    #expect(doc.count == writers + 1)
}

final class Failures: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.withLock { items.append(s) } }
    var all: [String] { lock.withLock { items } }
}

@Test func writerWaitsForTheLockThenGivesUpClearly() throws {
    let s = try CLIStore()
    // Hold the store's write lock from another process for a while.
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
    holder.arguments = [s.store + "/lock", "sleep", "3"]
    try holder.run()
    Thread.sleep(forTimeInterval: 0.3)
    let r = try trellis(["put", "r", "k", "a=1", "--create"], store: s.store, environment: ["TRELLIS_LOCK_TIMEOUT": "0.5"])
    #expect(r.status != 0)
    #expect(r.stderr.contains("locked by another writer"))
    // Readers are never blocked.
    #expect(try trellis(["repos"], store: s.store).status == 0)
    holder.waitUntilExit()
    #expect(try trellis(["put", "r", "k", "a=1", "--create"], store: s.store).status == 0)
}

@Test func logsPassTheIndependentPythonReader() throws {
    let s = try CLIStore()
    var expected: [String: Set<String>] = [:]
    for n in 0..<20 {
        let repo = n % 3 == 0 ? "alpha" : "beta"
        let id = try s.put(repo, "k\(n % 4)", #"{"n": \#(n), "notes": {"$text": "line \#(n)\n"}}"#)
        expected[repo, default: []].insert(id)
    }
    expected["alpha", default: []].insert(try s.ok(["rm", "alpha", "k0"]).out.trimmingCharacters(in: .newlines))
    let r = try run("/usr/bin/env", ["python3", TestPaths.packageRoot + "/Tests/verify/read_logs.py", s.store])
    #expect(r.status == 0, "reader: \(r.stderr)")
    let found = try JSONSerialization.jsonObject(with: r.stdout) as? [String: [String]] ?? [:]
    #expect(found.mapValues(Set.init) == expected)
    // A flipped byte in a frame is caught by the reader too.
    let log = s.store + "/repos/beta/log"
    var bytes = try Data(contentsOf: URL(fileURLWithPath: log))
    bytes[30] ^= 0x40
    try bytes.write(to: URL(fileURLWithPath: log))
    let damaged = try run("/usr/bin/env", ["python3", TestPaths.packageRoot + "/Tests/verify/read_logs.py", s.store])
    #expect(damaged.status != 0)
}

@Test func getMergesHeadsAndConflictsAreListed() throws {
    let s = try CLIStore()
    let base = try s.put("r", "k", #"{"title": "a", "n": {"$counter": 1}}"#)
    let ours = try s.put("r", "k", #"{"title": "b", "n": {"$counter": 2}}"#)
    let theirs = try s.put("r", "k", #"{"title": "c", "n": {"$counter": 5}}"#, parents: [base])
    let merged = try parse(try s.ok(["get", "r", "k", "--json"])) as! [String: Any]
    #expect(merged["title"] as? String == "c")
    #expect((merged["n"] as? [String: Int])?["$counter"] == 6)
    // The read wrote nothing; `merge` writes the merge commit.
    #expect(try s.ok(["heads", "r", "k"]).lines.count == 2)
    #expect(try s.ok(["merge", "r", "k"]).out.contains("merge of 2 heads"))
    let heads = try s.ok(["heads", "r", "k"]).lines
    #expect(heads.count == 1)
    let mergeID = String(heads[0].prefix(64))
    let log = try parse(try s.ok(["log", "r", "k", "--json", "-n", "1"])) as! [[String: Any]]
    #expect(log.first?["kind"] as? String == "merge")
    #expect(Set(log.first?["parents"] as? [String] ?? []) == [ours, theirs])
    #expect((log.first?["summary"] as? String)?.hasPrefix("merge of 2 heads") == true)
    let conflicts = try parse(try s.ok(["conflicts", "r", "--json"])) as! [[String: Any]]
    #expect(conflicts.count == 1 && conflicts.first?["id"] as? String == mergeID)
    let fields = conflicts.first?["conflicts"] as? [[String: Any]] ?? []
    #expect(fields.map { $0["field"] as? String } == ["title"])
    #expect(fields.first?["rule"] as? String == "last-writer-wins")
    #expect(fields.first?["ours"] as? String == "b" && fields.first?["winner"] as? String == "c")
    #expect(try s.ok(["conflicts", "r", "k"]).out.contains("title [last-writer-wins]"))
    // The merge commit passes the independent verifier: no author, no signature, recomputable id.
    let script = TestPaths.packageRoot + "/Tests/verify/verify_commits.py"
    let r = try run("/usr/bin/env", ["python3", script, TestPaths.trellis, s.store, mergeID, base, ours, theirs])
    #expect(r.status == 0, "verifier: \(r.out) \(r.stderr)")
}

/// The program of issue 14 (Tests/APICheck), built unchanged with the package, runs to "api ok".
@Test func apiCheckProgramRuns() throws {
    let dir = TemporaryDirectory()
    let binary = URL(fileURLWithPath: TestPaths.trellis).deletingLastPathComponent().appendingPathComponent("trellis-api-check").path
    let result = try run(binary, [dir.file("store")])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.out == "api ok\n")
}
