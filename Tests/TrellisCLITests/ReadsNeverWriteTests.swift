import Foundation
import Testing
import TrellisTestSupport

/// A store with records that have several heads (an edit against an edit, an edit against a
/// delete), a sealed pack and a torn log tail: every state a read can meet.
func storeWithSeveralHeads() throws -> (CLIStore, mergedTitle: String) {
    let s = try CLIStore()
    let base = try s.put("tasks", "t1", #"{"title": "a", "n": {"$counter": 0}}"#)
    _ = try s.put("tasks", "t1", #"{"title": "b", "n": {"$counter": 3}}"#)
    _ = try s.put("tasks", "t1", #"{"title": "c", "n": {"$counter": 3}}"#, parents: [base])
    let gone = try s.put("tasks", "t2", #"{"v": 1}"#)
    try s.ok(["rm", "tasks", "t2"])
    _ = try s.put("tasks", "t2", #"{"v": 2}"#, parents: [gone])
    _ = try s.put("notes", "n1", #"{"body": {"$text": "x\n"}}"#)
    try s.ok(["repack", "notes"])
    _ = try s.put("notes", "n1", #"{"body": {"$text": "x\ny\n"}}"#)
    // A torn write at the end of a log: only a writer may cut it.
    let log = try FileHandle(forWritingTo: URL(fileURLWithPath: s.store + "/repos/tasks/log"))
    try log.seekToEnd()
    try log.write(contentsOf: Data([0x54, 0x52, 0x46, 0x31, 0x00, 0x01, 0x02]))
    try log.close()
    return (s, "c")
}

/// Every read command, with the options that change what it reads.
let readCommands: [[String]] = [
    ["get", "tasks", "t1"], ["get", "tasks", "t1", "--json"], ["get", "tasks", "t2"], ["get", "notes", "n1"],
    ["log", "tasks"], ["log", "tasks", "t1", "--json"], ["log", "notes", "n1", "-n", "1"],
    ["diff", "tasks", "t1"], ["diff", "notes", "n1", "--json"], ["export", "tasks"], ["export", "notes"],
    ["keys", "tasks"], ["keys", "notes", "--json"], ["repos"], ["heads", "tasks", "t1"], ["heads", "tasks", "t2", "--json"],
    ["conflicts", "tasks"], ["conflicts", "tasks", "t1", "--json"], ["stats", "tasks"], ["stats", "--json"], ["fsck"],
]

@Test func everyReadCommandLeavesEveryFileAsItWas() throws {
    let (s, _) = try storeWithSeveralHeads()
    let before = snapshot(s.store)
    var outputs: [String] = []
    for args in readCommands {
        let r = try trellis(args, store: s.store)
        #expect(r.status == 0 || args == ["fsck"], "trellis \(args): \(r.stderr)")
        outputs.append(r.out)
        #expect(snapshot(s.store) == before, "trellis \(args) changed the store")
    }
    let head = try s.ok(["log", "tasks", "t1", "--json"]).out
    let id = String(head.split(separator: "\"").drop { $0 != "id" }.dropFirst(2).first ?? "")
    for args in [["cat", id], ["cat", id, "--json"], ["get", "tasks", "t1", "--at", id]] {
        try s.ok(args)
        #expect(snapshot(s.store) == before, "trellis \(args) changed the store")
    }
    // The reads saw the merge: counters added, the newer title, the edit beating the delete.
    let t1 = try parse(try s.ok(["get", "tasks", "t1", "--json"])) as? [String: Any]
    #expect(t1?["title"] as? String == "c")
    #expect((t1?["n"] as? [String: Int])?["$counter"] == 6)
    #expect(try s.ok(["keys", "tasks"]).out == "t1\nt2\n")
    #expect(try s.ok(["heads", "tasks", "t1"]).out.split(separator: "\n").count == 2)

    // `trellis merge` writes the merge commits; the documents read the same afterwards.
    let merged = try s.ok(["merge", "tasks", "--json"])
    #expect((try parse(merged) as? [Any])?.count == 2)
    #expect(snapshot(s.store) != before)
    #expect(try s.ok(["heads", "tasks", "t1"]).out.split(separator: "\n").count == 1)
    #expect(try s.ok(["get", "tasks", "t1"]).out == outputs[0])
    #expect(try s.ok(["merge"]).out == "nothing to merge: every record has one head\n")
    #expect(try trellis(["merge", "nope"], store: s.store).status != 0)
}

/// The uid and gid of `nobody`, who can read the store's world-readable files and nothing more.
let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"]

@Test func aStoreCanBeReadWithReadPermissionAlone() throws {
    guard getuid() == 0 else { return }  // needs root to become nobody
    // ...and a checkout that nobody may enter (a clone under a 0700 home would not be).
    guard try run("/usr/bin/setpriv", nobody + [TestPaths.trellis, "--help"]).status == 0 else {
        print("skipped: nobody cannot run \(TestPaths.trellis)")
        return
    }
    let (s, _) = try storeWithSeveralHeads()
    // Readable by all, writable by root only; the identity stays 0600 and unreadable to nobody.
    _ = try run("/bin/chmod", ["-R", "a+rX", s.dir.path])
    _ = try run("/bin/chmod", ["0600", s.store + "/identity"])
    let before = snapshot(s.store)
    for args in readCommands where args != ["fsck"] {
        let asRoot = try trellis(args, store: s.store)
        let asNobody = try run("/usr/bin/setpriv", nobody + [TestPaths.trellis] + args + ["--store", s.store])
        #expect(asNobody.status == 0, "trellis \(args) as nobody: \(asNobody.stderr)")
        #expect(asNobody.out == asRoot.out, "trellis \(args) reads differently without write permission")
    }
    #expect(snapshot(s.store) == before)
    // Writing needs the lock and the identity: one clear error line, nothing changed.
    let put = try run("/usr/bin/setpriv", nobody + [TestPaths.trellis, "put", "tasks", "t9", "a=1", "--store", s.store])
    #expect(put.status != 0 && put.stderr.split(separator: "\n").count == 1, "\(put.stderr)")
    #expect(snapshot(s.store) == before)
}
