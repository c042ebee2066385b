import Foundation
import Testing
import TrellisTestSupport

/// Edits one side of a generated text: changes, insertions and deletions inside its own lines,
/// so that the two sides never touch the same or adjacent base lines.
func edit(_ base: [String], lines owned: [Int], tag: String, using g: inout some RandomNumberGenerator) -> [String] {
    var out: [String] = []
    for (n, line) in base.enumerated() {
        guard owned.contains(n) else { out.append(line); continue }
        switch Int.random(in: 0..<3, using: &g) {
        case 0: out.append("\(tag) changed \(n)\n")
        case 1: out.append(line); out.append("\(tag) inserted after \(n)\n")
        default: break  // deleted
        }
    }
    return out
}

@Test func mergeFileMatchesGitOnNonOverlappingEdits() throws {
    let dir = TemporaryDirectory("merge-file")
    var g = SystemRandomNumberGenerator()
    var compared = 0
    for round in 0..<300 {
        let count = Int.random(in: 4...40, using: &g)
        let base = (0..<count).map { "line \($0) of the base text\n" }
        // Split the lines into alternating runs with a gap line between owners.
        var ours: [Int] = [], theirs: [Int] = []
        var n = 0
        while n < count {
            let run = Int.random(in: 1...3, using: &g)
            let owner = Int.random(in: 0..<3, using: &g)
            for k in n..<min(count, n + run) {
                if owner == 0 { ours.append(k) } else if owner == 1 { theirs.append(k) }
            }
            n += run + 1  // one untouched line between runs
        }
        let o = edit(base, lines: ours, tag: "ours", using: &g), t = edit(base, lines: theirs, tag: "theirs", using: &g)
        let paths = ["base", "ours", "theirs"].map { dir.file("\($0)-\(round)") }
        for (path, text) in zip(paths, [base, o, t]) { try Data(text.joined().utf8).write(to: URL(fileURLWithPath: path)) }
        let git = try run("/usr/bin/git", ["merge-file", "-p", paths[1], paths[0], paths[2]])
        // Both executables, in git's order: OURS BASE THEIRS.
        let mine = try trellis(["merge-file", paths[1], paths[0], paths[2]])
        let small = try run(TestPaths.mergeFile, [paths[1], paths[0], paths[2]])
        #expect(mine.status == 0, "case \(round): trellis found a conflict git did not")
        #expect(small.status == mine.status && small.out == mine.out, "case \(round): the two executables differ")
        if git.status == 0 {
            compared += 1
            #expect(mine.out == git.out, "case \(round) differs from git merge-file")
        }
    }
    #expect(compared >= 250, "git reported too many conflicts to compare: \(compared)")
}

@Test func mergeFileConflictsAndSidePicking() throws {
    let dir = TemporaryDirectory("merge-file")
    let files = [("base", "a\nb c d\ne\n"), ("ours", "a\nb c X\ne\n"), ("theirs", "a\nb c Y\ne\n")]
    for (name, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: dir.file(name))) }
    let args = ["merge-file", dir.file("ours"), dir.file("base"), dir.file("theirs")]
    let conflict = try trellis(args)
    #expect(conflict.status == 1)
    #expect(conflict.out == "a\n<<<<<<< \(dir.file("ours"))\nb c X\n=======\nb c Y\n>>>>>>> \(dir.file("theirs"))\ne\n")
    let small = try run(TestPaths.mergeFile, Array(args.dropFirst()))
    #expect(small.status == 1 && small.out == conflict.out)
    #expect(try run(TestPaths.mergeFile, ["--theirs"] + Array(args.dropFirst())).out == "a\nb c Y\ne\n")
    let wrong = try run(TestPaths.mergeFile, [dir.file("ours"), dir.file("base")])
    #expect(wrong.status == 2 && wrong.stderr.hasPrefix("trellis-merge-file: error: give three files"))
    let unreadable = try run(TestPaths.mergeFile, [dir.file("nope"), dir.file("base"), dir.file("theirs")])
    #expect(unreadable.status == 2 && unreadable.stderr.contains("cannot read"))
    #expect(try trellis(args + ["--ours"]).out == "a\nb c X\ne\n")
    #expect(try trellis(args + ["--theirs"]).out == "a\nb c Y\ne\n")
    // Different words of one line merge cleanly.
    try Data("a\nb c Y\ne\n".utf8).write(to: URL(fileURLWithPath: dir.file("theirs")))
    try Data("a\nQ c d\ne\n".utf8).write(to: URL(fileURLWithPath: dir.file("ours")))
    let words = try trellis(args)
    #expect(words.status == 0 && words.out == "a\nQ c Y\ne\n")
    let missing = try trellis(["merge-file", dir.file("ours"), dir.file("nope"), dir.file("theirs")])
    #expect(missing.status != 0 && missing.stderr.contains("cannot read"))
}

@Test func benchMergeReportsEveryWorkload() throws {
    let dir = TemporaryDirectory("bench")
    let r = try trellis(["bench", "merge", "--seconds", "0.05", "--runs", "1", "--json", "--write-cases", dir.path])
    #expect(r.status == 0, "\(r.stderr)")
    let rows = try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]] ?? []
    #expect(rows.count == 3)
    #expect(rows.allSatisfy { ($0["merges_per_second"] as? Int ?? 0) > 0 })
    // The written text case merges cleanly with git, to the same result as ours.
    let git = try run("/usr/bin/git", ["merge-file", "-p", dir.file("ours"), dir.file("base"), dir.file("theirs")])
    let mine = try trellis(["merge-file", dir.file("ours"), dir.file("base"), dir.file("theirs")])
    #expect(git.status == 0 && mine.status == 0 && git.out == mine.out)
}

/// `bench merge REPO` replays a repository's own merges: the parents of its merge commits (which
/// must give those commits again) and the heads of records that have several; a repository with
/// neither, an unknown one, and options for the built-in workloads are refused with one line.
@Test func benchMergeReplaysAStoresOwnMerges() throws {
    let s = try CLIStore()
    let root = try s.put("r", "a", #"{"n": 1, "t": "x"}"#)
    _ = try s.put("r", "a", #"{"n": 2, "t": "x"}"#, parents: [root])
    _ = try s.put("r", "a", #"{"n": 1, "t": "y"}"#, parents: [root])
    try s.ok(["merge", "r", "a"])
    let b = try s.put("r", "b", #"{"n": 1}"#)
    _ = try s.put("r", "b", #"{"n": 2}"#, parents: [b])
    _ = try s.put("r", "b", #"{"n": 3}"#, parents: [b])
    _ = try s.put("r", "plain", #"{"n": 1}"#)
    let row = try parse(try s.ok(["bench", "merge", "r", "--seconds", "0.05", "--runs", "2", "--json"])) as? [String: Any] ?? [:]
    #expect(row["merges"] as? Int == 2 && row["merge_commits"] as? Int == 1 && row["several_heads"] as? Int == 1)
    #expect(row["mismatches"] as? Int == 0 && (row["merges_per_second"] as? Int ?? 0) > 0 && (row["runs"] as? [Int])?.count == 2)
    let text = try s.ok(["bench", "merge", "--store", s.store, "r", "--seconds", "0.05", "--runs", "1", "--limit", "1"])
    #expect(text.out.hasPrefix("r: 1 merges replayed (1 merge commits, 0 records with several heads): "))

    _ = try s.put("q", "k", #"{"n": 1}"#)
    for (args, message) in [(["q"], "no merge commits"), (["nope"], "nope"), (["r", "--workload", "text"], "built-in"),
                            (["r", "--limit", "0"], "--limit")] {
        let r = try trellis(["bench", "merge"] + args + ["--seconds", "0.05", "--runs", "1"], store: s.store)
        #expect(r.status != 0 && r.stderr.contains(message) && r.stderr.split(separator: "\n").count <= 3, "\(args): \(r.stderr)")
    }
}

/// `bench open` opens the store afresh for each run, reads the record named, times gets spread
/// over the repository's records, and leaves the store's files as they were; a missing record,
/// repository or store, and bad counts, are refused with one line.
@Test func benchTextMergeRunsAnExactNumberOfMerges() throws {
    let dir = TemporaryDirectory("bench-text")
    let texts = ["base": "a\nb c d\ne\n", "ours": "a\nB c d\ne\n", "theirs": "a\nb c D\ne\n"]
    for (name, text) in texts { try Data(text.utf8).write(to: URL(fileURLWithPath: dir.file(name))) }
    let files = ["ours", "base", "theirs"].map { dir.file($0) }
    let r = try trellis(["bench", "text-merge"] + files + ["--runs", "3", "--merges", "500", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let row = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
    #expect((row["runs"] as? [Int])?.count == 3 && (row["merges_per_second"] as? Int ?? 0) > 0)
    #expect(row["merges"] as? [Int] == [500, 500, 500])
    for bad in [["--merges", "0"], ["--merges", "x"], ["--runs", "0"]] {
        let e = try trellis(["bench", "text-merge"] + files + bad)
        // The first line says what is wrong (argument parser errors go on with usage lines).
        #expect(e.status != 0 && e.stderr.hasPrefix("Error: ") && e.stderr.split(separator: "\n")[0].contains(bad[0]),
                "\(bad): \(e.stderr)")
    }
}

@Test func benchOpenTimesOpeningAndGets() throws {
    let s = try CLIStore()
    for n in 0..<20 { _ = try s.put("r", "k\(n)", #"{"n": \#(n)}"#) }
    let before = snapshot(s.store)
    let row = try parse(try s.ok(["bench", "open", "r", "k3", "--runs", "3", "--gets", "50", "--json"])) as? [String: Any] ?? [:]
    #expect(row["records"] as? Int == 20 && (row["opens"] as? [Double])?.count == 3)
    #expect((row["open_seconds"] as? Double ?? 0) > 0 && (row["get_microseconds"] as? Double ?? 0) > 0
            && (row["same_get_microseconds"] as? Double ?? 0) > 0 && (row["peak_mib"] as? Double ?? 0) > 0)
    #expect(snapshot(s.store) == before)
    let text = try s.ok(["bench", "open", "r", "k3", "--runs", "1", "--gets", "5"])
    #expect(text.out.hasPrefix("open + get: ") && text.out.contains("over 20 records"))
    for (args, message) in [(["r", "nope"], "nope"), (["q", "k3"], "q"), (["r", "k3", "--runs", "0"], "--runs"),
                            (["r", "k3", "--gets", "0"], "--gets")] {
        let r = try trellis(["bench", "open"] + args, store: s.store)
        #expect(r.status != 0 && r.stderr.contains(message) && r.stderr.split(separator: "\n").count <= 3, "\(args): \(r.stderr)")
    }
    let missing = try trellis(["bench", "open", "r", "k3"], store: s.store + "-absent")
    #expect(missing.status != 0 && missing.stderr.split(separator: "\n").count <= 3)
}
