import Testing
@testable import TrellisCore
import TrellisTestSupport

let sampleJSON = """
    {"title": "Write docs", "done": false, "n": 42, "neg": -7, "ratio": 2.0, "big": 1e300, "none": null,
     "when": {"$date": "2024-05-01T12:30:00.250Z"}, "blob": {"$bytes": "AAEC/w=="},
     "notes": {"$text": "line one\\nline two\\n"}, "tags": {"$set": ["b", "a", 3, "a"]},
     "hits": {"$counter": -3}, "nested": {"deep": {"x": [1, "two", {"$text": "t"}]}},
     "list": [true, null, 1.5], "unicode": "héllo \\u2603 \\ud83d\\ude00"}
    """

@Test func jsonRoundTripIsLossless() throws {
    let doc = try ValueJSON.document(fromJSON: sampleJSON)
    let text = ValueJSON.text(doc)
    let again = try ValueJSON.document(fromJSON: text)
    #expect(again == doc)
    #expect(ValueJSON.text(again) == text)
    #expect(doc["ratio"] == .double(2.0))
    #expect(doc["n"] == .int(42))
    #expect(doc["when"] == .date(1_714_566_600_250))
    #expect(doc["blob"] == .bytes([0, 1, 2, 255]))
    #expect(doc["tags"] == .set([.string("a"), .string("b"), .int(3)]))
    #expect(doc["hits"] == .counter(-3))
    #expect(doc["unicode"] == .string("héllo ☃ 😀"))
    #expect(text.contains(#""ratio":2.0"#))
}

@Test func canonicalEncodingIgnoresFieldOrder() throws {
    let a = try ValueJSON.document(fromJSON: #"{"a": 1, "b": {"y": 2, "x": 3}, "s": {"$set": [3, 1, 2]}}"#)
    let b = try ValueJSON.document(fromJSON: #"{"s": {"$set": [2, 3, 1, 1]}, "b": {"x": 3, "y": 2}, "a": 1}"#)
    #expect(CanonicalEncoder.encode(a) == CanonicalEncoder.encode(b))
}

@Test func canonicalEncodingRoundTrips() throws {
    let doc = try ValueJSON.document(fromJSON: sampleJSON)
    let bytes = CanonicalEncoder.encode(doc)
    var r = ByteReader(bytes)
    let decoded = try CanonicalDecoder.decodeDocument(&r)
    #expect(r.isAtEnd)
    #expect(decoded == doc)
    #expect(CanonicalEncoder.encode(decoded) == bytes)
}

@Test func canonicalEncodingExactBytes() {
    // {"a": 1, "b": "hi"} as specified in docs/format.md.
    let doc = Document([("b", .string("hi")), ("a", .int(1))])
    #expect(CanonicalEncoder.encode(doc) == [0x0B, 0x02, 0x01, 0x61, 0x03, 0x02, 0x01, 0x62, 0x05, 0x02, 0x68, 0x69])
    #expect(CanonicalEncoder.encode(.int(-1)) == [0x03, 0x01])
    #expect(CanonicalEncoder.encode(.int(300)) == [0x03, 0xD8, 0x04])
    #expect(CanonicalEncoder.encode(.double(-0.0)) == CanonicalEncoder.encode(.double(0.0)))
}

@Test func decoderRejectsNonCanonicalBytes() {
    let cases: [[UInt8]] = [
        [0x0B, 0x02, 0x01, 0x62, 0x00, 0x01, 0x61, 0x00],  // fields out of order
        [0x0B, 0x02, 0x01, 0x61, 0x00, 0x01, 0x61, 0x00],  // repeated field
        [0x09, 0x02, 0x02, 0x01],  // set out of order
        [0x03, 0x80, 0x00],  // non-minimal varint
        [0x04, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0],  // NaN
        [0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],  // count larger than the input
        [0x0D],  // unknown tag
        [0x05, 0x02, 0xC3],  // truncated string
        [0x05, 0x01, 0xFF],  // invalid UTF-8
    ]
    for bytes in cases {
        var r = ByteReader(bytes)
        #expect(throws: TrellisError.self) { try CanonicalDecoder.decodeValue(&r) }
    }
}

@Test(arguments: [
    #"{"a": "#, #"[1, 2]"#, #"{"a": 1} x"#, #"{"a": 1, "a": 2}"#, #"{"a": 99999999999999999999}"#, #"{"a": "\x"}"#,
    #"{"a": 01}"#, #"{"a": tru}"#, "", #"{"a": "\ud800"}"#,
])
func malformedJSONIsRejected(_ text: String) {
    #expect(throws: TrellisError.self) { try ValueJSON.document(fromJSON: text) }
}

@Test(arguments: [
    #"{"a": {"$text": 5}}"#, #"{"a": {"$counter": 1.5}}"#, #"{"a": {"$date": "yesterday"}}"#,
    #"{"a": {"$date": "2024-02-30T00:00:00Z"}}"#, #"{"a": {"$bytes": "abc"}}"#, #"{"a": {"$set": 1}}"#,
    #"{"a": {"$foo": 1}}"#, #"{"a": {"$text": "x", "y": 1}}"#, #"{"$text": "top"}"#,
    #"{"a": {"$date": "2024-01-01T00:00:00.0001Z"}}"#,
])
func wrongWrapperValuesAreRejected(_ text: String) throws {
    _ = try JSONParser.parse(text)  // valid JSON, invalid document
    #expect(throws: TrellisError.self) { try ValueJSON.document(fromJSON: text) }
}

@Test func datesParseAndFormat() {
    #expect(ISO8601.parse("1970-01-01T00:00:00Z") == 0)
    #expect(ISO8601.parse("1970-01-01T01:00:00+01:00") == 0)
    #expect(ISO8601.parse("2000-02-29T23:59:59.999Z") == 951_868_799_999)
    #expect(ISO8601.format(millis: 951_868_799_999) == "2000-02-29T23:59:59.999Z")
    #expect(ISO8601.format(millis: -1) == "1969-12-31T23:59:59.999Z")
    #expect(ISO8601.parse("0000-01-01T00:00:00.000Z") == ISO8601.range.lowerBound)
    #expect(ISO8601.parse("2001-02-29T00:00:00Z") == nil)
    for ms: Int64 in [0, 1, -86_400_001, 1_714_566_600_250, ISO8601.range.upperBound] {
        #expect(ISO8601.parse(ISO8601.format(millis: ms)) == ms)
    }
}

@Test func base64IsCanonical() {
    for n in 0..<10 {
        let bytes = (0..<n).map { UInt8($0 * 37 & 0xFF) }
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
    }
    #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
    #expect(Base64.decode("Zm9=") == nil)  // unused bits set
    #expect(Base64.decode("Zg=a") == nil)
}

@Test func lineDiffIsMinimalAndComplete() {
    let d = LineDiff.diff("a\nb\nc\n", "a\nx\nc\nd\n")
    #expect(d == [.same("a\n"), .removed("b\n"), .added("x\n"), .same("c\n"), .added("d\n")])
    #expect(LineDiff.diff("", "x") == [.added("x")])
    #expect(LineDiff.diff("same\n", "same\n") == [.same("same\n")])
}

@Test func hybridLogicalClockIsMonotonic() {
    var clock = HybridLogicalClock()
    let a = clock.tick(physicalMillis: 100)
    let b = clock.tick(physicalMillis: 100)
    let c = clock.tick(physicalMillis: 50)  // the wall clock went backwards
    clock.observe(HLCTimestamp(wallMillis: 500, logical: 7))
    let d = clock.tick(physicalMillis: 200)
    #expect(a < b && b < c && c < d)
    #expect(d == HLCTimestamp(wallMillis: 500, logical: 8))
}

@Test func documentDiffReportsFieldChanges() throws {
    let old = try ValueJSON.document(fromJSON: #"{"a": 1, "m": {"x": 1, "y": 2}, "s": {"$set": [1, 2]}, "gone": true}"#)
    let new = try ValueJSON.document(fromJSON: #"{"a": 2, "m": {"x": 1, "y": 3}, "s": {"$set": [2, 3]}, "added": "z"}"#)
    let changes = DocumentDiff.diff(old, new)
    #expect(changes.map(\.pathString) == ["a", "added", "gone", "m.y", "s"])
    #expect(changes.first { $0.pathString == "s" }?.setAdded == [.int(3)])
    #expect(changes.first { $0.pathString == "s" }?.setRemoved == [.int(1)])
    #expect(DocumentDiff.summary(changes) == "~a +added -gone ~m.y ~s")
}

@Test func diff3MergesDisjointEditsAndFlagsOverlaps() {
    let clean = TextMerge.merge(base: "a\nb\nc\nd\ne\n", ours: "A\nb\nc\nd\ne\n", theirs: "a\nb\nc\nd\nE\n")
    #expect(clean.isClean && clean.resolved(preferOurs: true) == "A\nb\nc\nd\nE\n")
    let same = TextMerge.merge(base: "a\n", ours: "b\n", theirs: "b\n")
    #expect(same.isClean && same.resolved(preferOurs: true) == "b\n")
    let conflict = TextMerge.merge(base: "a\nx y\nb\n", ours: "a\nx 1\nb\n", theirs: "a\nx 2\nb\n")
    #expect(!conflict.isClean)
    #expect(conflict.resolved(preferOurs: false) == "a\nx 2\nb\n")
    #expect(Diff3.merge(base: [1, 2, 3], ours: [1, 2, 3], theirs: [1, 3]) == [.resolved([1, 3])])
}

/// Strings compare by UTF-8 bytes everywhere in a document: canonically equivalent spellings
/// differ; small and large strings and shared storage alike.
@Test(arguments: 0..<400)
func stringsCompareByTheirBytes(seed: Int) {
    var rng = SplitMix(state: UInt64(seed))
    // A tiny alphabet, so equal strings and shared prefixes happen often.
    let pieces = ["a", "b", "é", "e\u{301}", "☃", "aaaaaaaa", "z"]
    func word() -> String { (0..<Int(rng.next() % 5)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined() }
    let a = word(), b = rng.next() % 3 == 0 ? a : word()
    let x = Array(a.utf8), y = Array(b.utf8)
    #expect(Value.sameBytes(a, b) == (x == y))
    let expected = x == y ? 0 : x.lexicographicallyPrecedes(y) ? -1 : 1
    #expect(Document.compare(a, b) == expected)
    #expect(Document.compare(b, a) == -expected)
    #expect(Value.sameBytes(a, a + ""))
}

