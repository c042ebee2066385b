import Foundation
import Testing
import TrellisTestSupport

private func later() { Thread.sleep(forTimeInterval: 0.004) }

private func line(_ r: ProcessResult) -> String { r.out.trimmingCharacters(in: .whitespacesAndNewlines) }

/// t1 with a fork and its merge, and t2: the history the tests below read.
private func forkedStore() throws -> (CLIStore, base: String, ours: String, theirs: String, merge: String) {
    let s = try CLIStore()
    try s.ok(["identity", "--name", "Ann Lee"])
    let base = try s.put("tasks", "t1", #"{"title": "A", "done": false, "notes": {"$text": "one\ntwo\n"}}"#); later()
    let ours = line(try s.ok(["put", "tasks", "t1", "done:=true", "title=Mine", #"notes:={"$text": "one\ntwo\nthree\n"}"#])); later()
    let theirs = line(try s.ok(["put", "tasks", "t1", "--parent", base, "title=Other"])); later()
    _ = try s.put("tasks", "t2", #"{"title": "B"}"#); later()
    let merge = (try parse(try s.ok(["merge", "tasks", "t1", "--json"])) as? [[String: Any]])?.first?["id"] as? String ?? ""
    return (s, base, ours, theirs, merge)
}

@Test func logOptionsFilterAndFormat() throws {
    let (s, base, ours, theirs, merge) = try forkedStore()
    let all = try parse(try s.ok(["log", "tasks", "--json"])) as! [[String: Any]]
    // The merge has the timestamp of its newest parent, so t2, written after that, is newer.
    #expect(all.count == 5 && all[1]["id"] as? String == merge && all[0]["key"] as? String == "t2")
    #expect(all.allSatisfy { ($0["time"] as? String)?.hasSuffix("Z") == true && $0["logical"] is Int })
    #expect(all.last?["author_name"] as? String == "Ann Lee")
    let oneline = try s.ok(["log", "tasks", "t1", "--oneline", "--reverse"]).out.split(separator: "\n")
    #expect(oneline.count == 4 && oneline[0].hasPrefix(String(base.prefix(12))) && oneline[3].hasPrefix(String(merge.prefix(12))))
    let since = try parse(try s.ok(["log", "tasks", "--since", theirs, "--json"])) as! [[String: Any]]
    #expect(since.map { $0["id"] as? String }.last == merge && since.count == 2)
    let until = try parse(try s.ok(["log", "tasks", "--until", ours, "--json"])) as! [[String: Any]]
    #expect(until.map { $0["id"] as? String } == [ours, base])
    let field = try parse(try s.ok(["log", "tasks", "--field", "notes", "--json"])) as! [[String: Any]]
    #expect(field.map { $0["id"] as? String } == [merge, ours, base])
    #expect(try s.ok(["log", "tasks", "--author", "ann lee", "-n", "1", "--oneline"]).out.contains("t2 +title"))
    #expect(try s.ok(["log", "tasks", "--author", "nobody", "--oneline"]).out.isEmpty)
    let key = line(try s.ok(["identity"])).prefix(64)
    #expect(try s.ok(["log", "tasks", "--author", String(key.prefix(6)), "--oneline"]).out.split(separator: "\n").count == 4)
    let patch = try s.ok(["log", "tasks", "t1", "-p", "-n", "2"]).out
    #expect(patch.contains("Author:  Ann Lee <") && patch.contains("+ three") && patch.contains("~ done: false -> true"))
    let stat = try s.ok(["log", "tasks", "t1", "--stat", "-n", "1"]).out
    #expect(stat.contains(" done  | ~") && stat.contains("2 fields changed: 0 added, 2 changed, 0 removed"), "\(stat)")
    let graph = try s.ok(["log", "tasks", "--graph", "--oneline"]).out
    #expect(graph.contains("|\\") && graph.contains("|/") && graph.contains("* \(merge.prefix(12))"))
    #expect(try s.ok(["log", "tasks", "--since", "yesterday", "--json"]).out.contains(merge))
    #expect(try s.ok(["log", "tasks", "--since", "2999-01-01", "--oneline"]).out.isEmpty)
    let bad = try trellis(["log", "tasks", "--since", "2026-13-40"], store: s.store)
    #expect(bad.status != 0 && bad.stderr.contains("is not a time") && bad.stderr.split(separator: "\n").count == 1)
}

@Test func colourAndStoreBeforeTheCommand() throws {
    let (s, _, _, _, _) = try forkedStore()
    let plain = try trellis(["--store", s.store, "log", "tasks", "--oneline"])
    #expect(plain.status == 0 && !plain.out.contains("\u{1B}["))
    let coloured = try trellis(["--store=\(s.store)", "--color=always", "log", "tasks", "--oneline"])
    #expect(coloured.status == 0 && coloured.out.contains("\u{1B}[33m"))
    #expect(try s.ok(["log", "tasks", "--color", "never", "-p"]).out.contains("\u{1B}[") == false)
    let version = try trellis(["--version"])
    #expect(version.status == 0 && version.out.hasPrefix("trellis "))
}

@Test func getAndExportAsOf() throws {
    let (s, base, _, _, _) = try forkedStore()
    let old = try parse(try s.ok(["get", "tasks", "t1", "--at", "t1~2", "--json"])) as! [String: Any]
    #expect(old["title"] as? String == "A")
    let atBase = try parse(try s.ok(["get", "tasks", "t1", "--at", String(base.prefix(8)), "--json"])) as! [String: Any]
    #expect(atBase["done"] as? Bool == false)
    let before = try trellis(["get", "tasks", "t2", "--at", "2000-01-01"], store: s.store)
    #expect(before.status != 0 && before.stderr.contains("did not exist yet"))
    let now = try s.ok(["export", "tasks", "--at", "now"]).out.split(separator: "\n")
    #expect(now.count == 2)
    let past = try s.ok(["export", "tasks", "--at", base]).out.split(separator: "\n")
    #expect(past.count == 1 && past[0].contains(#""title":"A""#))
}

@Test func repositoryDiffWithStat() throws {
    let s = try CLIStore()
    _ = try s.put("tasks", "a", #"{"v": 1}"#)
    let cut = try s.put("tasks", "b", #"{"v": 1}"#); later()
    try s.ok(["put", "tasks", "a", "v:=2", "w:=3"])
    try s.ok(["rm", "tasks", "b"])
    _ = try s.put("tasks", "c", #"{"v": 1}"#)
    let d = try parse(try s.ok(["diff", "tasks", cut, "--json"])) as! [String: Any]
    let records = d["records"] as! [[String: Any]]
    #expect(records.map { $0["key"] as? String } == ["a", "b", "c"])
    #expect(records.map { $0["kind"] as? String } == ["changed", "deleted", "added"])
    let stat = d["stat"] as! [String: Any]
    #expect(stat["records"] as? Int == 3 && stat["fields"] as? Int == 4)
    let text = try s.ok(["diff", "tasks", cut, "--stat"]).out
    #expect(text.contains(" a | changed, 2 fields (+1 ~1 -0)") && text.contains("3 records changed (1 added, 1 changed, 1 deleted), 4 fields changed"))
    #expect(try s.ok(["diff", "tasks", cut, "now"]).out.contains("~ v: 1 -> 2"))
    // A record key still means the record diff.
    #expect(try s.ok(["diff", "tasks", "a"]).out.contains("~ v: 1 -> 2"))
    #expect(try s.ok(["diff", "tasks", "a", cut, "now"]).out.contains("+ w: 3"))
    let unknown = try trellis(["diff", "tasks", "zz", "yesterday", "now"], store: s.store)
    #expect(unknown.status != 0 && unknown.stderr.contains("unknown key 'zz'"))
}

@Test func showAndBlameAndPendingConflicts() throws {
    let (s, base, ours, theirs, merge) = try forkedStore()
    let shown = try parse(try s.ok(["show", merge, "--json"])) as! [String: Any]
    #expect(shown["kind"] as? String == "merge" && (shown["sides"] as? [[String: Any]])?.count == 2)
    let text = try s.ok(["show", String(merge.prefix(10))]).out
    #expect(text.contains("side \(ours.prefix(12)) by Ann Lee") && text.contains("side \(theirs.prefix(12))"))
    let plain = try parse(try s.ok(["show", "tasks", "t1~1", "--json"])) as! [String: Any]
    #expect(plain["against"] as? String == base)
    let blame = try parse(try s.ok(["blame", "tasks", "t1", "--json"])) as! [[String: Any]]
    let owner = { (f: String, l: Int?) in blame.first { $0["field"] as? String == f && $0["line"] as? Int == l }?["commit"] as? String }
    #expect(owner("title", nil) == theirs && owner("done", nil) == ours)
    #expect(owner("notes", 1) == base && owner("notes", 3) == ours)
    #expect(blame.allSatisfy { $0["author_name"] as? String == "Ann Lee" })
    let human = try s.ok(["blame", "tasks", "t1", "notes"]).out.split(separator: "\n")
    #expect(human.count == 3 && human[2].contains("Ann Lee") && human[2].hasSuffix("notes:   3 three"))
    // A fork left unmerged is pending.
    let head = line(try s.ok(["put", "tasks", "t2", "title=C"])); _ = head
    let t2base = (try parse(try s.ok(["log", "tasks", "t2", "--json", "--reverse"])) as! [[String: Any]])[0]["id"] as! String
    try s.ok(["put", "tasks", "t2", "--parent", t2base, "title=D"])
    let pending = try parse(try s.ok(["conflicts", "tasks", "--pending", "--json"])) as! [[String: Any]]
    #expect(pending.map { $0["key"] as? String } == ["t2"] && (pending[0]["heads"] as? [Any])?.count == 2)
    let conflicts = try s.ok(["conflicts", "tasks"]).out
    #expect(conflicts.contains("by Ann Lee") && conflicts.contains("title [last-writer-wins]") && conflicts.contains("winner: \"Other\""))
}

@Test func fieldEditsNestedSetsUnsetAndNoOp() throws {
    let s = try CLIStore()
    _ = try s.put("tasks", "t1", #"{"title": "A", "owner": "ann", "tags": {"$set": ["a"]}}"#)
    try s.ok(["put", "tasks", "t1", "meta.points:=13", "tags+=x", "tags-=a", "--unset", "owner"])
    let got = try parse(try s.ok(["get", "tasks", "t1", "--json"])) as! [String: Any]
    #expect((got["meta"] as? [String: Any])?["points"] as? Int == 13)
    #expect((got["tags"] as? [String: Any])?["$set"] as? [String] == ["x"])
    #expect(got["owner"] == nil && got["meta.points"] == nil && got["tags+"] == nil)
    let commits = (try parse(try s.ok(["log", "tasks", "--json"])) as! [Any]).count
    let same = try s.ok(["put", "tasks", "t1", "title=A"])
    #expect(same.out.contains("nothing changed") && same.out.contains("no commit"))
    let whole = try s.ok(["put", "tasks", "t1", "--json", String(data: try JSONSerialization.data(withJSONObject: got), encoding: .utf8)!])
    #expect(whole.out.contains("nothing changed"))
    #expect((try parse(try s.ok(["log", "tasks", "--json"])) as! [Any]).count == commits)
    let bad = try trellis(["put", "tasks", "t1", "title.x=1"], store: s.store)
    #expect(bad.status != 0 && bad.stderr.contains("field 'title' holds a string, not an object"))
    let notSet = try trellis(["put", "tasks", "t1", "title+=x"], store: s.store)
    #expect(notSet.status != 0 && notSet.stderr.contains("not a set"))
}

@Test func revertResolveAndSyncReport() throws {
    let s = try CLIStore()
    _ = try s.put("tasks", "t1", #"{"title": "A", "n": {"$counter": 1}, "done": false}"#); later()
    let bump = line(try s.ok(["put", "tasks", "t1", #"n:={"$counter": 5}"#, "title=B"])); later()
    try s.ok(["put", "tasks", "t1", "done:=true", "title=C"]); later()
    let reverted = try parse(try s.ok(["revert", String(bump.prefix(10)), "--json"])) as! [String: Any]
    #expect((reverted["conflicts"] as? [[String: Any]])?.first?["field"] as? String == "title")
    let after = try parse(try s.ok(["get", "tasks", "t1", "--json"])) as! [String: Any]
    #expect((after["n"] as? [String: Any])?["$counter"] as? Int == 1)  // the increment undone
    #expect(after["title"] as? String == "C" && after["done"] as? Bool == true)  // later edits stay
    let again = try trellis(["revert", bump], store: s.store)
    #expect(again.status != 0 && again.stderr.contains("nothing to revert"))

    // A conflict, settled the other way.
    let base = line(try s.ok(["put", "tasks", "t2", "title=x"])); later()
    try s.ok(["put", "tasks", "t2", "title=ours"]); later()
    try s.ok(["put", "tasks", "t2", "--parent", base, "title=theirs"])
    // Another store syncs and sees the fork.
    let other = try CLIStore()
    let report = try parse(try other.ok(["sync", s.store, "--json"])) as! [String: Any]
    #expect(report["records_with_several_heads"] as? Int == 1 && report["pending_conflicts"] as? Int == 1)
    #expect(try other.ok(["sync", s.store]).out.contains("1 record has several heads; merging them resolves 1 conflict"))
    try s.ok(["resolve", "tasks", "t2", "title", "--ours"])
    #expect((try parse(try s.ok(["get", "tasks", "t2", "--json"])) as! [String: Any])["title"] as? String == "ours")
    try s.ok(["resolve", "tasks", "t2", "title", "--theirs"])
    #expect((try parse(try s.ok(["get", "tasks", "t2", "--json"])) as! [String: Any])["title"] as? String == "theirs")
    try s.ok(["resolve", "tasks", "t2", "meta.p", "--value", "8"])
    #expect(((try parse(try s.ok(["get", "tasks", "t2", "--json"])) as! [String: Any])["meta"] as? [String: Any])?["p"] as? Int == 8)
    let none = try trellis(["resolve", "tasks", "t1", "done", "--ours"], store: s.store)
    #expect(none.status != 0 && none.stderr.contains("no merge of 't1' resolved a conflict at 'done'"))
}

@Test func putNeedsAnExistingRepositoryAndReposCreateAndRemove() throws {
    let s = try CLIStore()
    let typo = try trellis(["put", "taks", "t1", "a=1"], store: s.store)
    #expect(typo.status != 0 && typo.stderr.contains("unknown repository 'taks': add --create"))
    #expect(try s.ok(["repos", "--json"]).out.contains("taks") == false)
    try s.ok(["repos", "create", "tasks"])
    #expect(try parse(try s.ok(["repos", "list", "--json"])) as? [String] == ["tasks"])
    try s.ok(["put", "tasks", "t1", "a=1"])
    let twice = try trellis(["repos", "create", "tasks"], store: s.store)
    #expect(twice.status != 0 && twice.stderr.contains("already exists"))
    _ = try s.put("scratch", "x", #"{"v": 1}"#)
    #expect(try s.ok(["repos", "rm", "scratch"]).out.contains("removed repository 'scratch' and its 1 commit"))
    #expect(try parse(try s.ok(["repos", "--json"])) as? [String] == ["tasks"])
    let gone = try trellis(["repos", "rm", "scratch"], store: s.store)
    #expect(gone.status != 0 && gone.stderr.contains("unknown repository 'scratch'"))
    #expect(try s.ok(["fsck"]).status == 0)
    #expect(!FileManager.default.fileExists(atPath: s.store + "/repos/scratch"))
}
