import Foundation
import Testing
import Trellis
import TrellisTestSupport

/// Writes with distinct wall-clock milliseconds, so that times between them are unambiguous.
private func later() { Thread.sleep(forTimeInterval: 0.004) }

@Test func revisionsParseEveryForm() throws {
    let now: Int64 = 1_764_504_000_000  // 2025-11-30T12:00:00Z
    #expect(try Revision("2026-11-30", now: now) == .time(1_795_996_800_000))
    #expect(try Revision("2026-11-30T12:00Z", now: now) == .time(1_795_996_800_000 + 43_200_000))
    #expect(try Revision("2026-11-30T12:00", now: now) == .time(1_795_996_800_000 + 43_200_000))
    #expect(try Revision("2026-11-30T12:00:05.250+01:00", now: now) == .time(1_795_996_800_000 + 39_605_250))
    #expect(try Revision("yesterday", now: now) == .time(now - 86_400_000))
    #expect(try Revision("today", now: now) == .time(now - 43_200_000))
    #expect(try Revision("2h", now: now) == .time(now - 7_200_000))
    #expect(try Revision("3d", now: now) == .time(now - 3 * 86_400_000))
    #expect(try Revision("90s", now: now) == .time(now - 90_000))
    #expect(try Revision("1w", now: now) == .time(now - 604_800_000))
    #expect(try Revision("t1~2", now: now) == .ancestor(of: "t1", steps: 2))
    #expect(try Revision("t1~", now: now) == .ancestor(of: "t1", steps: 1))
    #expect(try Revision("t1", now: now) == .ancestor(of: "t1", steps: 0))
    #expect(try Revision("3f2a9c", now: now) == .commit("3f2a9c"))
    // Both a prefix and a relative time: a commit when one has the prefix, else the time.
    #expect(try Revision("100d", now: now) == .commit("100d"))
    for bad in ["", "2026-13-01", "2026-11-31", "2026-11-30T25:00Z", "t1~x"] {
        #expect(throws: TrellisError.self, "\(bad)") { try Revision(bad, now: now) }
    }
}

@Test(arguments: EngineKind.allCases) func asOfTimesCommitsAndAncestry(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let repo = try engine.store(dir, "a").repository("r")
    let v1 = try repo.put("k", try json(#"{"n": 1}"#)); later()
    let o1 = try repo.put("other", try json(#"{"x": 1}"#)); later()
    let v2 = try repo.put("k", try json(#"{"n": 2}"#)); later()
    try repo.delete("other"); later()
    let v3 = try repo.put("k", try json(#"{"n": 3}"#))
    let t = { (id: CommitID) in Revision.time(Int64(try repo.store.info(id).timestamp.wallMillis)) }
    #expect(try repo.get("k", asOf: t(v1)) == (try json(#"{"n": 1}"#)))
    #expect(try repo.get("k", asOf: t(o1)) == (try json(#"{"n": 1}"#)))  // a time between versions
    #expect(try repo.get("k", asOf: .commit(v2.hex)) == (try json(#"{"n": 2}"#)))
    #expect(try repo.get("k", asOf: .commit(String(o1.hex.prefix(8)))) == (try json(#"{"n": 1}"#)))  // another record's commit: its time
    #expect(try repo.get("k", asOf: .ancestor(of: "k", steps: 1)) == (try json(#"{"n": 2}"#)))
    #expect(try repo.get("k", asOf: .ancestor(of: "k", steps: 0)) == (try json(#"{"n": 3}"#)))
    #expect(try repo.get("k", asOf: .time(0)) == nil)
    #expect(throws: TrellisError.self) { try repo.get("k", asOf: .ancestor(of: "k", steps: 3)) }
    #expect(throws: TrellisError.self) { try repo.get("k", asOf: .ancestor(of: "nope", steps: 1)) }
    #expect(try repo.snapshot(asOf: t(v2)).map(\.key) == ["k", "other"])
    #expect(try repo.snapshot(asOf: t(v3)).map(\.key) == ["k"])
    #expect(try repo.point(.commit(v3.hex)).commit?.id == v3)
}

@Test(arguments: EngineKind.allCases) func asOfATimeWithTwoHeadsMergesThem(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let repo = try engine.store(dir, "a").repository("r")
    let base = try repo.put("k", try json(#"{"n": {"$counter": 1}, "t": "x"}"#)); later()
    try repo.put("k", try json(#"{"n": {"$counter": 3}, "t": "x"}"#)); later()
    let side = try repo.put("k", try json(#"{"n": {"$counter": 1}, "t": "y"}"#), parents: [base]); later()
    try repo.merge("k"); later()
    try repo.put("k", try json(#"{"n": {"$counter": 10}, "t": "z"}"#))
    let then = Revision.time(Int64(try repo.store.info(side).timestamp.wallMillis))
    #expect(try repo.get("k", asOf: then) == (try json(#"{"n": {"$counter": 3}, "t": "y"}"#)))
}

@Test(arguments: EngineKind.allCases) func logFiltersWalkNewestFirst(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try engine.store(dir, "a"), b = try engine.store(dir, "b")
    let repo = try a.repository("r")
    let c1 = try repo.put("k", try json(#"{"title": "a", "meta": {"p": 1}}"#)); later()
    let c2 = try repo.put("j", try json(#"{"title": "b"}"#)); later()
    let c3 = try repo.update("k") { $0["meta"] = .map(Document([("p", .int(2))])) }; later()
    // A commit by another author, received.
    let theirs = try b.repository("r").put("z", try json(#"{"title": "z"}"#))
    try a.receive([try b.commit(theirs)]); later()
    let c5 = try repo.update("j") { $0["title"] = .string("c") }
    let ids = { (q: LogQuery) in try repo.log(q).map(\.id) }
    let all = try ids(LogQuery())
    #expect(Set(all) == Set([c1, c2, c3, theirs, c5]) && all.first == c5 && all.last == c1)
    #expect(try ids(LogQuery(limit: 2)) == Array(all.prefix(2)))
    #expect(try ids(LogQuery(key: "k")) == [c3, c1])
    #expect(try ids(LogQuery(field: ["meta", "p"])) == [c3, c1])
    #expect(try ids(LogQuery(field: ["meta"])) == [c3, c1])
    #expect(try ids(LogQuery(field: ["title"])).contains(c5))
    #expect(try ids(LogQuery(since: .commit(c2.hex))) == all.prefix { $0 != c2 })
    #expect(try ids(LogQuery(until: .commit(c2.hex))) == [c2, c1])
    #expect(try ids(LogQuery(since: .commit(c1.hex), until: .commit(c3.hex))) == [c3, c2])
    let mine = try a.identity
    #expect(try ids(LogQuery(author: { $0 == mine })) == all.filter { $0 != theirs })
    #expect(try ids(LogQuery(limit: 0)) == [])
}

@Test(arguments: EngineKind.allCases) func repositoryDiffListsAddedChangedDeleted(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let repo = try engine.store(dir, "a").repository("r")
    let keep = try repo.put("same", try json(#"{"v": 1}"#))
    try repo.put("changed", try json(#"{"v": 1, "w": 1}"#))
    let gone = try repo.put("gone", try json(#"{"v": 1}"#)); later()
    let from = Revision.time(Int64(try repo.store.info(gone).timestamp.wallMillis))
    try repo.put("changed", try json(#"{"v": 2, "w": 1}"#))
    try repo.delete("gone")
    try repo.put("new", try json(#"{"v": 1}"#))
    try repo.put("flip", try json(#"{"v": 1}"#)); try repo.delete("flip")  // born and gone inside the range
    let d = try repo.diff(from: from)
    #expect(d.map(\.key) == ["changed", "gone", "new"])
    #expect(d.map(\.kind) == [.changed, .deleted, .added])
    #expect(d[0].changes.map(\.pathString) == ["v"] && d[0].changes[0].new == .int(2))
    #expect(d[1].fromHeads == [gone])
    #expect(try repo.diff(from: .time(0), to: from).map(\.key) == ["changed", "gone", "same"])
    #expect(try repo.diff(from: .commit(keep.hex), to: .commit(keep.hex)).isEmpty)
}

@Test(arguments: EngineKind.allCases) func showAMergeGivesEachSideAndTheConflicts(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let repo = try engine.store(dir, "a").repository("r")
    let base = try repo.put("k", try json(#"{"t": "x", "a": 1, "b": 1}"#)); later()
    let ours = try repo.put("k", try json(#"{"t": "ours", "a": 2, "b": 1}"#)); later()
    let theirs = try repo.put("k", try json(#"{"t": "theirs", "a": 1, "b": 2}"#), parents: [base])
    let merge = try repo.merge("k")
    let d = try repo.show(merge.id)
    #expect(d.commit.kind == .merge && d.parent == theirs)
    #expect(d.sides.map(\.parent.id) == [ours, theirs])
    #expect(d.sides[0].changes.map(\.pathString) == ["a", "t"] && d.sides[1].changes.map(\.pathString) == ["b", "t"])
    #expect(d.conflicts.map(\.pathString) == ["t"] && d.conflicts[0].winner == .string("theirs"))
    let plain = try repo.show(ours)
    #expect(plain.parent == base && plain.changes.map(\.pathString) == ["a", "t"] && plain.sides.isEmpty)
}

@Test(arguments: EngineKind.allCases) func blameFollowsMergesToTheWinningSide(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let repo = try engine.store(dir, "a").repository("r")
    let base = try repo.put("k", try json(#"{"t": "x", "a": 1, "m": {"p": 1, "q": 1}, "notes": {"$text": "one\ntwo\nthree\n"}}"#)); later()
    let ours = try repo.put("k", try json(#"{"t": "ours", "a": 2, "m": {"p": 1, "q": 1}, "notes": {"$text": "one\nTWO\nthree\n"}}"#)); later()
    let theirs = try repo.put("k", try json(#"{"t": "theirs", "a": 1, "m": {"p": 1, "q": 5}, "notes": {"$text": "one\ntwo\nthree\nfour\n"}}"#), parents: [base]); later()
    let merge = try repo.merge("k")
    let entries = try repo.blame("k")
    let owner = { (path: String, line: Int?) in entries.first { $0.pathString == path && $0.line == line }?.commit.id }
    #expect(owner("t", nil) == theirs)
    #expect(owner("a", nil) == ours)
    #expect(owner("m.p", nil) == base && owner("m.q", nil) == theirs)
    #expect(entries.filter { $0.pathString == "notes" }.map(\.line) == [1, 2, 3, 4])
    #expect(owner("notes", 1) == base && owner("notes", 2) == ours && owner("notes", 3) == base && owner("notes", 4) == theirs)
    #expect(merge.kind == .merge)
    #expect(try repo.blame("k", field: ["m"]).map(\.pathString) == ["m.p", "m.q"])
    #expect(throws: TrellisError.self) { try repo.blame("k", field: ["nope"]) }
    // A value set again to what it was is blamed to the commit that set it again.
    let again = try repo.update("k") { $0["a"] = .int(1) }
    #expect(try repo.blame("k", field: ["a"]).first?.commit.id == again)
}

/// Blame of scalar fields along a random linear history against a reference: each field's owner
/// is the last commit whose value differs from its parent's. Few fields and values, so equal
/// values and unchanged writes happen often.
@Test func blameMatchesAReferenceOnRandomHistories() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<40 {
        let repo = try Store.inMemory().repository("r")
        var owners: [String: CommitID] = [:]
        var current: [String: Int64] = [:]
        for _ in 0..<Int.random(in: 1...12, using: &rng) {
            var next = current
            for f in ["a", "b", "c"] {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: next[f] = nil
                case 1: next[f] = Int64.random(in: 0..<2, using: &rng)
                default: break
                }
            }
            if next.isEmpty { next["a"] = 0 }
            guard next != current else { continue }  // an unchanged write writes no commit
            let id = try repo.put("k", Document(next.map { ($0.key, Value.int($0.value)) }))
            for (f, v) in next where current[f] != v { owners[f] = id }
            for f in owners.keys where next[f] == nil { owners[f] = nil }
            current = next
        }
        let got = Dictionary(uniqueKeysWithValues: try repo.blame("k").map { ($0.pathString, $0.commit.id) })
        #expect(got == owners)
    }
}

@Test(arguments: EngineKind.allCases) func displayNamesCountOnlyWhenSignedByTheirKey(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try engine.store(dir, "a"), b = try engine.store(dir, "b")
    try a.setDisplayName("  Ann Lee ")
    #expect(try a.displayNames() == [try a.identity: "Ann Lee"])
    // B writes a record claiming to name A: it does not count.
    try b.repository(Store.identitiesRepository).put(Hex.encode(try a.identity.bytes), Document([("name", .string("Mallory"))]))
    try b.setDisplayName("Bob")
    try a.sync(with: b)
    #expect(try a.displayNames() == [try a.identity: "Ann Lee", try b.identity: "Bob"])
    #expect(throws: TrellisError.self) { try a.setDisplayName("   ") }
}

@Test(arguments: EngineKind.allCases) func repositoriesAreCreatedAndRemovedWhole(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let store = try engine.store(dir, "a")
    try store.createRepository("empty")
    #expect(try store.repositoryNames() == ["empty"])
    #expect(try store.repository("empty").keys() == [])
    #expect(throws: TrellisError.self) { try store.createRepository("empty") }
    try store.repository("full").put("k", try json(#"{"v": 1}"#))
    try store.removeRepository("full")
    #expect(try store.repositoryNames() == ["empty"])
    #expect(throws: TrellisError.self) { try store.removeRepository("full") }
    // Written again, it starts afresh.
    try store.repository("full").put("k", try json(#"{"v": 2}"#))
    #expect(try store.repository("full").history().count == 1)
}
