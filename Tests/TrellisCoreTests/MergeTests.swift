import Testing
import TrellisTestSupport
@testable import TrellisCore

func side(_ json: String?, _ wall: UInt64, _ idByte: UInt8) throws -> MergeSide {
    MergeSide(document: try json.map(ValueJSON.document(fromJSON:)), timestamp: HLCTimestamp(wallMillis: wall, logical: 0),
              id: CommitID(bytes: [UInt8](repeating: idByte, count: 32))!)
}

@Test func fieldsMergeByType() throws {
    let base = try ValueJSON.document(fromJSON: #"""
        {"title": "a", "n": {"$counter": 10}, "tags": {"$set": ["x", "y"]}, "notes": {"$text": "one\ntwo\nthree\n"},
         "m": {"p": 1, "q": 1}, "gone": 1}
        """#)
    let ours = try side(#"""
        {"title": "b", "n": {"$counter": 13}, "tags": {"$set": ["x", "y", "z"]}, "notes": {"$text": "ONE\ntwo\nthree\n"},
         "m": {"p": 2, "q": 1}, "gone": 1}
        """#, 1, 1)
    let theirs = try side(#"""
        {"title": "c", "n": {"$counter": 8}, "tags": {"$set": ["y", "w"]}, "notes": {"$text": "one\ntwo\nTHREE\n"},
         "m": {"p": 1, "q": 2}}
        """#, 2, 2)
    let r = DocumentMerge.merge(base: base, ours, theirs)
    let expected = try ValueJSON.document(fromJSON: #"""
        {"title": "c", "n": {"$counter": 11}, "tags": {"$set": ["y", "z", "w"]}, "notes": {"$text": "ONE\ntwo\nTHREE\n"},
         "m": {"p": 2, "q": 2}}
        """#)
    #expect(r.document == expected)
    #expect(r.conflicts.map(\.pathString) == ["title"])
    #expect(r.conflicts.first?.winner == .string("c"))
    #expect(DocumentMerge.merge(base: base, theirs, ours) == r)
}

@Test func overlappingTextAndDeletesFollowTheDocumentedRules() throws {
    let base = try ValueJSON.document(fromJSON: #"{"t": {"$text": "x y\n"}}"#)
    let older = try side(#"{"t": {"$text": "x 1\n"}}"#, 5, 9)
    let newer = try side(#"{"t": {"$text": "x 2\n"}}"#, 5, 10)  // same time, larger id: newer
    let r = DocumentMerge.merge(base: base, older, newer)
    #expect(r.document?["t"] == .text("x 2\n"))
    #expect(r.conflicts.map(\.rule) == [.textHunk])
    // Edit against delete: the edit wins and the conflict is recorded.
    let deleted = try side(nil, 9, 3)
    let edit = DocumentMerge.merge(base: base, older, deleted)
    #expect(edit.document == older.document && edit.conflicts.map(\.rule) == [.editBeatsDelete])
    // An untouched side lets the delete stand.
    let untouched = MergeSide(document: base, timestamp: .zero, id: older.id)
    #expect(DocumentMerge.merge(base: base, untouched, deleted).document == nil)
    // Two roots merge against the empty document.
    let roots = DocumentMerge.merge(base: nil, try side(#"{"a": 1}"#, 1, 1), try side(#"{"b": 2}"#, 2, 2))
    #expect(roots.document == (try ValueJSON.document(fromJSON: #"{"a": 1, "b": 2}"#)))
}

/// Random edits of every value type on two sides of a random base.
func mutate(_ doc: Document, _ g: inout SplitMix) -> Document {
    var out = doc
    for field in doc.fields where Int.random(in: 0..<3, using: &g) == 0 {
        switch field.value {
        case .counter(let n): out[field.name] = .counter(n + Int64.random(in: -5...5, using: &g))
        case .set(let s):
            var e = s.elements.filter { _ in Bool.random(using: &g) }
            e.append(.int(Int64.random(in: 0...9, using: &g)))
            out[field.name] = .set(e)
        case .text(let t):
            var lines = LineDiff.lines(t).map(String.init)
            if !lines.isEmpty { lines[Int.random(in: 0..<lines.count, using: &g)] = "edit \(UInt8.random(in: 0...255, using: &g))\n" }
            out[field.name] = .text(lines.joined())
        case .map(let m): out[field.name] = .map(mutate(m, &g))
        default: out[field.name] = randomValue(&g, depth: 2)
        }
    }
    if Int.random(in: 0..<4, using: &g) == 0 { out["new\(Int.random(in: 0...3, using: &g))"] = randomValue(&g, depth: 2) }
    if let victim = doc.fields.randomElement(using: &g), Int.random(in: 0..<5, using: &g) == 0 { out[victim.name] = nil }
    return out
}

func typedDocument(_ g: inout SplitMix) -> Document {
    var d = randomDocument(&g)
    d["count"] = .counter(Int64.random(in: -9...9, using: &g))
    d["tags"] = .set((0..<3).map { _ in .int(Int64.random(in: 0...9, using: &g)) })
    d["body"] = .text((0..<6).map { "line \($0)\n" }.joined())
    d["nested"] = .map(Document([("c", .counter(0)), ("s", .string("x"))]))
    return d
}

@Test func mergeLawsHoldOnRandomEdits() throws {
    var g = SplitMix(state: 3_2026)
    for round in 0..<500 {
        let base = typedDocument(&g)
        let a = MergeSide(document: mutate(base, &g), timestamp: HLCTimestamp(wallMillis: UInt64.random(in: 0...3, using: &g), logical: 0),
                          id: CommitID(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) })!)
        let b = MergeSide(document: mutate(base, &g), timestamp: HLCTimestamp(wallMillis: UInt64.random(in: 0...3, using: &g), logical: 0),
                          id: CommitID(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) })!)
        let ab = DocumentMerge.merge(base: base, a, b), ba = DocumentMerge.merge(base: base, b, a)
        #expect(ab == ba, "round \(round): merge depends on argument order")
        // Merging a version with itself changes nothing, except that counters count twice.
        if counters(a.document) == counters(base) {
            #expect(DocumentMerge.merge(base: base, a, a).document == a.document, "round \(round): idempotence")
        }
        // A change made on one side only is never lost.
        let onlyA = DocumentMerge.merge(base: base, a, MergeSide(document: base, timestamp: b.timestamp, id: b.id))
        #expect(onlyA.document == a.document && onlyA.conflicts.isEmpty, "round \(round): one-sided change lost")
        // Fields changed by exactly one side come through unchanged.
        guard let merged = ab.document, let da = a.document, let db = b.document else { continue }
        for name in Set(da.names + db.names + base.names) {
            if da[name] == base[name] { #expect(merged[name] == db[name], "round \(round): \(name) from b lost") }
            if db[name] == base[name] { #expect(merged[name] == da[name], "round \(round): \(name) from a lost") }
        }
    }
}

/// Every counter of a document by field path (maps only: counters in lists and sets merge as values).
func counters(_ doc: Document?, prefix: String = "") -> [String: Int64] {
    var out: [String: Int64] = [:]
    for f in doc?.fields ?? [] {
        switch f.value {
        case .counter(let n): out[prefix + f.name] = n
        case .map(let m): out.merge(counters(m, prefix: prefix + f.name + "."), uniquingKeysWith: { a, _ in a })
        default: break
        }
    }
    return out
}

@Test func equalIncrementsOnBothSidesBothCount() throws {
    let base = try ValueJSON.document(fromJSON: #"{"n": {"$counter": 0}, "m": {"c": {"$counter": 1}}}"#)
    let raised = #"{"n": {"$counter": 3}, "m": {"c": {"$counter": 2}}}"#
    // Whole documents equal, field values equal, nested maps equal: every increment counts.
    let r = DocumentMerge.merge(base: base, try side(raised, 1, 1), try side(raised, 2, 2))
    #expect(r.document == (try ValueJSON.document(fromJSON: #"{"n": {"$counter": 6}, "m": {"c": {"$counter": 3}}}"#)))
    #expect(r.conflicts.isEmpty)
    // Two roots that both create a counter: it starts from 0 on each side.
    let roots = DocumentMerge.merge(base: nil, try side(#"{"n": {"$counter": 2}}"#, 1, 1), try side(#"{"n": {"$counter": 2}}"#, 2, 2))
    #expect(roots.document?["n"] == .counter(4))
}

@Test func concurrentInsertionsAtOnePlaceKeepBothOlderFirst() throws {
    let base = "a\nb\n"
    // Both append a line: both lines stay, the older side's first.
    let appended = TextMerge.merge(base: base, ours: "a\nb\nx\n", theirs: "a\nb\ny\n")
    #expect(appended.isClean && appended.resolved(preferOurs: false) == "a\nb\nx\ny\n")
    // The same line added on both sides is kept once, as git does.
    #expect(TextMerge.merge(base: base, ours: "a\nb\nx\n", theirs: "a\nb\nx\n").resolved(preferOurs: false) == "a\nb\nx\n")
    // Edits of adjacent lines touch different base lines: clean.
    let adjacent = TextMerge.merge(base: "a\nb\nc\n", ours: "A\nb\nc\n", theirs: "a\nB\nc\n")
    #expect(adjacent.isClean && adjacent.resolved(preferOurs: false) == "A\nB\nc\n")
    // A deletion next to an insertion: both apply.
    let deleted = TextMerge.merge(base: "a\nb\nc\n", ours: "a\nc\n", theirs: "a\nb\nN\nc\n")
    #expect(deleted.isClean && deleted.resolved(preferOurs: false) == "a\nN\nc\n")
    // Edits of the same base line still conflict, and the newer side wins.
    let same = TextMerge.merge(base: "a b\n", ours: "a X\n", theirs: "a Y\n")
    #expect(!same.isClean && same.resolved(preferOurs: false) == "a Y\n")
    // In a record: the newer side is "theirs", so the older side's line comes first.
    let doc = DocumentMerge.merge(base: try ValueJSON.document(fromJSON: #"{"t": {"$text": "a\n"}}"#),
                                  try side(#"{"t": {"$text": "a\nnew\n"}}"#, 2, 2),
                                  try side(#"{"t": {"$text": "a\nold\n"}}"#, 1, 1))
    #expect(doc.document?["t"] == .text("a\nold\nnew\n") && doc.conflicts.isEmpty)
}

@Test func textMergeComparesBytesNotUnicodeEquivalence() throws {
    // "é" precomposed and decomposed are equal Swift Strings but different bytes.
    let nfc = "caf\u{E9}\n", nfd = "cafe\u{301}\n"
    #expect(Value.text(nfc) != Value.text(nfd))
    let r = TextMerge.merge(base: nfc, ours: nfc, theirs: nfd)
    #expect(Array(r.resolved(preferOurs: false).utf8) == Array(nfd.utf8))
    let names = DocumentMerge.merge(base: nil, try side(#"{"caf\u00e9": 1}"#, 1, 1), try side(#"{"cafe\u0301": 2}"#, 2, 2))
    #expect(names.document?.count == 2)
}
