import Testing
import TrellisTestSupport
import TrellisCrypto
@testable import TrellisCore

func randomString(_ g: inout SplitMix) -> String {
    let alphabet = Array("abcxyz é☃😀\n\"\\\u{1}")
    return String((0..<Int.random(in: 0...8, using: &g)).map { _ in alphabet.randomElement(using: &g)! })
}

func randomValue(_ g: inout SplitMix, depth: Int) -> Value {
    switch Int.random(in: 0...(depth > 2 ? 9 : 12), using: &g) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &g))
    case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &g) >> Int64.random(in: 0...63, using: &g))
    case 3: return .double(Double.random(in: -1e12...1e12, using: &g))
    case 4: return .string(randomString(&g))
    case 5: return .date(Int64.random(in: ISO8601.range, using: &g))
    case 6: return .bytes((0..<Int.random(in: 0...9, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) })
    case 7: return .text(randomString(&g))
    case 8: return .counter(Int64.random(in: -1000...1000, using: &g))
    case 9: return .set((0..<Int.random(in: 0...4, using: &g)).map { _ in randomValue(&g, depth: 3) })
    case 10: return .map(randomDocument(&g, depth: depth + 1))
    default: return .list((0..<Int.random(in: 0...4, using: &g)).map { _ in randomValue(&g, depth: depth + 1) })
    }
}

func randomDocument(_ g: inout SplitMix, depth: Int = 0) -> Document {
    var doc = Document()
    for _ in 0..<Int.random(in: 0...6, using: &g) { doc[randomString(&g)] = randomValue(&g, depth: depth) }
    return doc
}

@Test func randomDocumentsRoundTripThroughJSONAndBytes() throws {
    var g = SplitMix(state: 20_261_121)
    for _ in 0..<500 {
        let doc = randomDocument(&g)
        let json = ValueJSON.text(doc)
        let fromJSON = try ValueJSON.document(fromJSON: json)
        #expect(CanonicalEncoder.encode(fromJSON) == CanonicalEncoder.encode(doc), "JSON round trip: \(json)")
        let bytes = CanonicalEncoder.encode(doc)
        var r = ByteReader(bytes)
        #expect(CanonicalEncoder.encode(try CanonicalDecoder.decodeDocument(&r)) == bytes)
        // Rebuilding the document in shuffled field order gives the same bytes.
        let shuffled = Document(doc.fields.shuffled(using: &g).map { ($0.name, $0.value) })
        #expect(CanonicalEncoder.encode(shuffled) == bytes)
    }
}

@Test func commitsEncodeDecodeAndVerify() throws {
    let key = try SigningKey.generate()
    var g = SplitMix(state: 7)
    var parent: CommitID? = nil
    for n in 0..<100 {
        let commit = Commit(kind: n % 10 == 9 ? .delete : .put, repository: "tasks", key: "k\(n % 3)",
                            parents: parent.map { [$0] } ?? [], timestamp: HLCTimestamp(wallMillis: UInt64(n), logical: 1),
                            author: nil, document: n % 10 == 9 ? nil : randomDocument(&g))
        let signed = SignedCommit.sign(commit, with: key)
        #expect(signed.id == CommitID.of(signed.encoded))
        let verified = try SignedCommit.verify(encoded: signed.encoded, signature: signed.signature)
        #expect(verified.commit == signed.commit)
        var tampered = signed.encoded
        tampered[tampered.count - 1] ^= 0x01
        #expect(throws: TrellisError.self) { try SignedCommit.verify(encoded: tampered, signature: signed.signature) }
        parent = signed.id
    }
}
