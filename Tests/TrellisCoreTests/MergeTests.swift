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
        #expect(DocumentMerge.merge(base: base, a, a).document == a.document, "round \(round): idempotence")
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
