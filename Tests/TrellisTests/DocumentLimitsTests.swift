import Foundation
import Testing
import Trellis
@testable import TrellisCore
import TrellisCrypto
import TrellisTestSupport

/// A value nested `levels` containers deep (a map, list or set at each level), a scalar inside.
func nested(_ levels: Int, _ g: inout SplitMix) -> Value {
    guard levels > 0 else { return .text("bottom\r\n") }
    switch Int.random(in: 0..<3, using: &g) {
    case 0: return .map(Document([("d\(levels)", nested(levels - 1, &g))]))
    case 1: return .list([nested(levels - 1, &g), .null])
    default: return .set([nested(levels - 1, &g), .int(1)])
    }
}

/// Documents at every limit the format sets: nesting, dates, integers, doubles, odd names and strings.
func documentAtTheLimits(_ g: inout SplitMix) -> Document {
    let edges: [Value] = [
        .date(ISO8601.range.lowerBound), .date(ISO8601.range.upperBound), .date(0), .int(.min), .int(.max),
        .double(5e-324), .double(-1.7976931348623157e308), .double(0.1), .double(2.0), .double(-0.0),
        .counter(.min), .counter(.max), .string(""), .string("\u{0}\u{1}\"\\\u{7F}\u{2028}"), .string("cafe\u{301}"),
        .text(""), .text("a\r\nb\n\n"), .bytes([]), .bytes([0, 255, 62, 63]), .set([]), .list([]), .map(Document()),
    ]
    var d = Document()
    d["deep"] = nested(Document.maxDepth - 1, &g)  // with the document itself: exactly the limit
    for n in 0..<Int.random(in: 1...8, using: &g) {
        let names = ["", "a$", " $", "é", "e\u{301}", "\u{0}", "key \(n)", "$"]
        let name = names[Int.random(in: 0..<names.count - 1, using: &g)] + "\(n)"
        d[name] = edges.randomElement(using: &g)!
    }
    return d
}

@Test func storedDocumentsSurviveExportThenImportByteForByte() throws {
    let dir = TemporaryDirectory()
    let store = try Store.open(dir.file("a"))
    var g = SplitMix(state: 64)
    var written: [String: [UInt8]] = [:]
    for k in 0..<60 {
        let doc = documentAtTheLimits(&g)
        try store.repository("r").put("k\(k)", doc)
        written["k\(k)"] = CanonicalEncoder.encode(doc)
    }
    // One level more is refused, by the API and from JSON.
    var tooDeep = Document()
    tooDeep["deep"] = nested(Document.maxDepth, &g)
    #expect(throws: TrellisError.self) { try store.repository("r").put("deep", tooDeep) }
    #expect(throws: TrellisError.self) { try ValueJSON.document(fromJSON: ValueJSON.text(tooDeep)) }

    let export = try trellis(["export", "r"], store: dir.file("a"))
    #expect(export.status == 0, "\(export.stderr)")
    try export.stdout.write(to: URL(fileURLWithPath: dir.file("r.jsonl")))
    _ = try Store.open(dir.file("b"))
    let imported = try trellis(["import", "r", dir.file("r.jsonl")], store: dir.file("b"))
    #expect(imported.status == 0, "\(imported.stderr)")
    let other = try Store.open(dir.file("b")).repository("r")
    for (key, bytes) in written {
        let doc = try other.get(key)
        #expect(doc.map { CanonicalEncoder.encode($0) } == bytes, "\(key) changed through export and import")
    }
}

/// A commit whose document the encoder would never produce, signed by a real key.
func handMade(_ document: Document, key: SigningKey) -> SignedCommit {
    SignedCommit.sign(Commit(kind: .put, repository: "r", key: "k", parents: [], timestamp: HLCTimestamp(wallMillis: 1, logical: 0),
                             author: nil, document: document), with: key)
}

@Test func theDecoderRefusesWhatTheEncoderCannotProduce() throws {
    let dir = TemporaryDirectory()
    let store = try Store.open(dir.file("s"))
    let key = try SigningKey.generate()
    var g = SplitMix(state: 65)
    var deep = Document()
    deep["deep"] = nested(Document.maxDepth, &g)  // 65 levels with the document
    let bad: [(String, Document)] = [
        ("nesting", deep),
        ("a $ name", Document([("x", .map(Document([("$text", .string("x"))])))])),
        ("a $ name at the top", Document([("$set", .int(1))])),
        ("a date past 9999", Document([("d", .date(ISO8601.range.upperBound + 1))])),
        ("a date before 0000", Document([("d", .list([.date(ISO8601.range.lowerBound - 1)]))])),
    ]
    for (what, doc) in bad {
        let commit = handMade(doc, key: key)
        #expect(throws: TrellisError.self, "a commit with \(what) was stored") { try store.receive([commit]) }
        #expect(try store.repositoryNames().isEmpty)
    }
    // At the limit itself, the same commit is fine.
    var limit = Document()
    limit["deep"] = nested(Document.maxDepth - 1, &g)
    try store.receive([handMade(limit, key: key)])
    #expect(try store.repository("r").get("k") == limit)
}
