import Foundation
import Testing
import Trellis
import TrellisTestSupport

func json(_ text: String) throws -> Document { try ValueJSON.document(fromJSON: text) }

/// A record's commits, parents before children (generation order).
func commitsInOrder(_ store: Store, _ repo: String, _ key: String) throws -> [SignedCommit] {
    try store.repository(repo).history(key).sorted { $0.generation < $1.generation }.map { try store.commit($0.id) }
}

@Test(arguments: EngineKind.allCases) func twoStoresWriteTheSameMergeCommit(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try engine.store(dir, "a"), b = try engine.store(dir, "b")
    let repo = try a.repository("r")
    let base = try repo.put("k", try json(#"{"n": {"$counter": 1}, "t": "x"}"#))
    try repo.put("k", try json(#"{"n": {"$counter": 3}, "t": "x"}"#))
    try repo.put("k", try json(#"{"n": {"$counter": 1}, "t": "y"}"#), parents: [base])
    // B receives the same commits, the fork before the edit.
    let commits = try commitsInOrder(a, "r", "k")
    try b.receive([commits[0], commits[2], commits[1]])
    let mergedA = try repo.get("k"), mergedB = try b.repository("r").get("k")
    try repo.merge("k")
    try b.repository("r").merge("k")
    #expect(mergedA == (try json(#"{"n": {"$counter": 3}, "t": "y"}"#)))
    #expect(mergedA == mergedB)
    let headA = try repo.heads("k"), headB = try b.repository("r").heads("k")
    #expect(headA.count == 1 && headA.map(\.id) == headB.map(\.id))
    #expect(headA[0].kind == .merge && headA[0].author == nil)
    #expect(try a.commit(headA[0].id).encoded == b.commit(headB[0].id).encoded)
    // The merge commit travels too: received elsewhere, it is verified by recomputation.
    let c = try engine.store(dir, "c")
    try c.receive(commits + [try a.commit(headA[0].id)])
    #expect(try c.repository("r").heads("k").map(\.id) == headA.map(\.id))
}

@Test(arguments: EngineKind.allCases) func forgedMergesAndBadCommitsAreRefusedWhole(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try engine.store(dir, "a")
    let repo = try a.repository("r")
    let base = try repo.put("k", try json(#"{"v": 1}"#))
    let x = try repo.put("k", try json(#"{"v": 2}"#))
    let y = try repo.put("k", try json(#"{"v": 3}"#), parents: [base])
    let honest = try a.commit(try repo.merge("k").id)
    var forged = honest.commit
    forged.document = try json(#"{"v": 2}"#)  // claims the older side won
    let b = try engine.store(dir, "b")
    let plain = try [base, x, y].map { try a.commit($0) }
    #expect(throws: TrellisError.self) { try b.receive(plain + [SignedCommit.merge(forged)]) }
    #expect(try b.repositoryNames().isEmpty)  // nothing from the batch was kept
    var tampered = plain[1].encoded
    tampered[tampered.count - 1] ^= 1
    let bad = SignedCommit(commit: plain[1].commit, id: plain[1].id, encoded: tampered, signature: plain[1].signature)
    #expect(throws: TrellisError.self) { try b.receive([plain[0], bad]) }
    #expect(throws: TrellisError.self) { try b.receive([plain[1]]) }  // parent missing
    try b.receive(plain + [honest])
    #expect(try b.repository("r").get("k") == (try json(#"{"v": 3}"#)))
}

@Test(arguments: EngineKind.allCases) func crissCrossHistoriesMergeOverAVirtualBase(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let repo = try engine.store(dir, "s").repository("r")
    let base = try repo.put("k", try json(#"{"a": 0, "b": 0, "c": {"$counter": 0}}"#))
    let left = try repo.put("k", try json(#"{"a": 1, "b": 0, "c": {"$counter": 1}}"#), parents: [base])
    let right = try repo.put("k", try json(#"{"a": 0, "b": 1, "c": {"$counter": 2}}"#), parents: [base])
    // Two merges of the same pair, each with a further edit: a criss-cross.
    let m1 = try repo.update("k", parents: [left, right]) { $0["x"] = .int(1) }
    let m2 = try repo.update("k", parents: [left, right]) { $0["y"] = .int(2) }
    #expect(Set(try repo.heads("k").map(\.id)) == [m1, m2])
    let merged = try #require(try repo.get("k"))
    // Against the virtual base (left merged with right), counters are not double-counted.
    #expect(merged == (try json(#"{"a": 1, "b": 1, "c": {"$counter": 3}, "x": 1, "y": 2}"#)))
}

@Test(arguments: EngineKind.allCases) func threeHeadsAndTwoRootsMerge(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try engine.store(dir, "a")
    let repo = try a.repository("r")
    let base = try repo.put("k", try json(#"{"s": {"$set": [1]}}"#))
    for n in 2...4 { try repo.put("k", try json(#"{"s": {"$set": [1, \#(n)]}}"#), parents: [base]) }
    #expect(try repo.heads("k").count == 3)
    #expect(try repo.get("k") == (try json(#"{"s": {"$set": [1, 2, 3, 4]}}"#)))
    // Two roots of one key (a store that received another store's independent first version).
    let b = try engine.store(dir, "b")
    try b.repository("r").put("other", try json(#"{"p": 1}"#))
    try b.repository("r").put("k", try json(#"{"q": 2}"#))
    try b.receive(try commitsInOrder(a, "r", "k"))
    #expect(try b.repository("r").get("k") == (try json(#"{"s": {"$set": [1, 2, 3, 4]}, "q": 2}"#)))
}

@Test(arguments: EngineKind.allCases) func theResolvedDocumentDoesNotDependOnArrivalOrder(engine: EngineKind) throws {
    var g = SystemRandomNumberGenerator()
    let dir = TemporaryDirectory()
    for round in 0..<200 {
        let source = try engine.store(dir, "src\(round)")
        let repo = try source.repository("r")
        var ids = [try repo.put("k", try json(#"""
            {"n": {"$counter": 0}, "s": {"$set": []}, "t": {"$text": "a\nb\nc\nd\n"}, "v": 0, "str": "s", "d": 1.5, "b": true,
             "when": {"$date": "2024-01-01T00:00:00.000Z"}, "raw": {"$bytes": "AA=="}, "list": [1], "m": {"x": 1, "y": {"$counter": 0}}}
            """#))]
        for step in 0..<Int.random(in: 2...7, using: &g) {
            let parents = Array(Set((0..<Int.random(in: 1...2, using: &g)).map { _ in ids.randomElement(using: &g)! }))
            // The closure may run on another thread (group commit): it draws from its own generator.
            let seed = g.next()
            ids.append(try repo.update("k", parents: parents) { doc in
                var g = SplitMix(state: seed)
                switch Int.random(in: 0..<8, using: &g) {
                case 0: if case .counter(let n)? = doc["n"] { doc["n"] = .counter(n + 1) }
                case 1: if case .set(let s)? = doc["s"] { doc["s"] = .set(s.elements + [.int(Int64(step))]) }
                case 2:
                    if case .text(let t)? = doc["t"] {
                        var lines = t.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                        lines[Int.random(in: 0..<4, using: &g)] = "edit \(round).\(step)"
                        doc["t"] = .text(lines.joined(separator: "\n"))
                    }
                case 3: doc["v"] = .int(Int64(step))
                case 4:
                    let name = ["str", "d", "b", "null"].randomElement(using: &g)!
                    doc[name] = [Value.string("e\(step)"), .double(Double(step)), .bool(step % 2 == 0), .null].randomElement(using: &g)!
                case 5:
                    let name = ["when", "raw", "list"].randomElement(using: &g)!
                    doc[name] = [Value.date(Int64(step) * 1000), .bytes([UInt8(step)]), .list([.int(Int64(step))])].randomElement(using: &g)!
                case 6:
                    if case .map(var m)? = doc["m"] {
                        if Bool.random(using: &g) {
                            m["x"] = .int(Int64(step))
                        } else if case .counter(let c)? = m["y"] {
                            m["y"] = .counter(c + 2)
                        }
                        doc["m"] = .map(m)
                    }
                default: doc[Bool.random(using: &g) ? "str" : "list"] = nil
                }
            })
        }
        let commits = try ids.map { try source.commit($0) }
        // Two other stores receive the commits in different orders that keep parents first.
        var results: [(Document?, [CommitID])] = []
        for copy in 0..<2 {
            let store = try engine.store(dir, "copy\(round)-\(copy)")
            var pending = commits
            if copy == 1 { pending.shuffle(using: &g) }
            var have = Set<CommitID>()
            while !pending.isEmpty {
                let ready = pending.firstIndex { $0.commit.parents.allSatisfy(have.contains) }!
                let c = pending.remove(at: ready)
                try store.receive([c])
                have.insert(c.id)
            }
            let r = try store.repository("r")
            results.append((try r.get("k"), try r.heads("k").map(\.id)))
        }
        #expect(results[0].0 == results[1].0, "round \(round): documents differ")
        #expect(results[0].1 == results[1].1, "round \(round): merge commits differ")
        #expect(try repo.get("k") == results[0].0, "round \(round): the source disagrees")
    }
}
