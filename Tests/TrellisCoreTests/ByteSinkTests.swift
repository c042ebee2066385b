import Testing
@testable import TrellisCore
@testable import TrellisText
import TrellisTestSupport
import TrellisCrypto

// A commit is encoded by a counting pass and one write into an array of that size
// (`ByteCounter`, `FixedByteWriter`); the growing `ByteWriter` is the reference. Small ranges
// put values on varint boundaries and give strings of every short length, multi-byte ones too.

private func sinkValue(_ g: inout SplitMix, depth: Int = 0) -> Value {
    let boundaries: [Int64] = [0, 1, -1, 63, 64, -64, -65, 127, 128, 8191, 8192, Int64.max, Int64.min]
    switch Int.random(in: 0..<(depth < 2 ? 9 : 7), using: &g) {
    case 0: return .int(boundaries.randomElement(using: &g)!)
    case 1: return .int(Int64.random(in: -300...300, using: &g))
    case 2: return .string(String((0..<Int.random(in: 0...140, using: &g)).map { _ in "aé b".randomElement(using: &g)! }))
    case 3: return .text(String(repeating: "line\n", count: Int.random(in: 0...30, using: &g)))
    case 4: return .bytes((0..<Int.random(in: 0...130, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) })
    case 5: return .counter(boundaries.randomElement(using: &g)!)
    case 6: return .bool(Bool.random(using: &g))
    case 7: return .map(sinkDocument(&g, depth: depth + 1))
    default: return .list((0..<Int.random(in: 0...3, using: &g)).map { _ in sinkValue(&g, depth: depth + 1) })
    }
}

private func sinkDocument(_ g: inout SplitMix, depth: Int = 0) -> Document {
    var d = Document()
    for _ in 0..<Int.random(in: 0...6, using: &g) { d["f\(Int.random(in: 0...4, using: &g))"] = sinkValue(&g, depth: depth) }
    return d
}

@Test(arguments: 0..<300)
func countedEncodingsMatchTheGrowingWriter(seed: UInt64) throws {
    var g = SplitMix(state: seed)
    let document = sinkDocument(&g)
    let reference = CanonicalEncoder.encode(document)
    var counter = ByteCounter()
    CanonicalEncoder.write(document, to: &counter)
    #expect(counter.count == reference.count)
    let fixed = [UInt8](unsafeUninitializedCapacity: counter.count) { buffer, initialized in
        var w = FixedByteWriter(buffer)
        CanonicalEncoder.write(document, to: &w)
        initialized = w.count
    }
    #expect(fixed == reference)

    // The commit's encoding ends with the document's, decodes to the same commit, and its
    // varint-sized parts (names, parent count) are counted right.
    let parents = (0..<Int.random(in: 0...2, using: &g)).map { _ in CommitID.of([UInt8.random(in: 0...255, using: &g)]) }
    let commit = Commit(kind: .put, repository: String(repeating: "r", count: Int.random(in: 1...130, using: &g)), key: "k\(seed)",
                        parents: parents, timestamp: HLCTimestamp(wallMillis: UInt64(seed), logical: UInt32(seed % 3)),
                        author: nil, document: document)
    let encoded = commit.encoded()
    #expect(Array(encoded.suffix(reference.count)) == reference)
    #expect(try Commit.decode(encoded).encoded() == encoded)
}

@Test func varintsAreCountedAsWritten() {
    var g = SplitMix(state: 16)
    var values: [UInt64] = [0, 1, 127, 128, 16383, 16384, UInt64.max >> 1, UInt64.max]
    for shift in 0..<64 { values.append(1 << UInt64(shift)); values.append((1 << UInt64(shift)) - 1) }
    for _ in 0..<200 { values.append(UInt64.random(in: 0...UInt64.max, using: &g) >> UInt64.random(in: 0...63, using: &g)) }
    for v in values {
        var w = ByteWriter(), c = ByteCounter()
        w.varint(v)
        c.varint(v)
        #expect(c.count == w.bytes.count, "varint \(v)")
    }
}

@Test(arguments: 0..<200)
func wordKeysAreEqualExactlyForEqualShortWords(seed: UInt64) {
    // Words from a two-letter alphabet collide often; a key must never call different words
    // equal when both are shorter than eight bytes, and must always call equal words equal.
    var g = SplitMix(state: seed)
    let words = (0..<2).map { _ in (0..<Int.random(in: 1...10, using: &g)).map { _ in UInt8.random(in: 97...98, using: &g) } }
    let padded = words.map { $0 + [UInt8](repeating: 32, count: Int.random(in: 0...9, using: &g)) }
    padded[0].withUnsafeBytes { a in
        padded[1].withUnsafeBytes { b in
            let ka = ByteTokens.key(a, 0, words[0].count), kb = ByteTokens.key(b, 0, words[1].count)
            if words[0] == words[1] { #expect(ka == kb) }
            if words[0].count < 8, words[1].count < 8 { #expect((ka == kb) == (words[0] == words[1])) }
        }
    }
}

/// A writer given too little room drops what does not fit and says so, never writing past its
/// end; a commit too large for the encoder's stack scratch is counted and encoded the same way.
@Test func fixedWriterOverflowsSafelyAndLargeCommitsEncodeTheSame() throws {
    var bytes = [UInt8](repeating: 0xEE, count: 8)
    let (count, overflowed) = bytes.withUnsafeMutableBufferPointer { all in
        var w = FixedByteWriter(UnsafeMutableBufferPointer(rebasing: all[..<5]))
        w.string("ab")
        w.string("a string longer than the room")
        w.varint(1 << 40)
        return (w.count, w.overflowed)
    }
    // The long string's length prefix still fitted; its bytes and the varint did not.
    #expect(overflowed && count == 4)
    #expect(Array(bytes[..<4]) == [2, 0x61, 0x62, 29] && bytes[5...].allSatisfy { $0 == 0xEE })

    for size in [1000, 1024, 1100, 5000] {
        let document = Document([("body", .text(String(repeating: "x", count: size)))])
        let commit = Commit(kind: .put, repository: "r", key: "k", parents: [], timestamp: HLCTimestamp(wallMillis: 1, logical: 0),
                            author: nil, document: document)
        var counter = ByteCounter()
        CanonicalEncoder.write(document, to: &counter)
        let encoded = commit.encoded()
        #expect(Array(encoded.suffix(counter.count)) == CanonicalEncoder.encode(document))
        #expect(try Commit.decode(encoded) == commit)
    }
}

/// Merges of two heads take their own path; naming one head twice sends the same heads through
/// the general fold, which must give the same merge commit. Small value ranges, so that equal
/// edits and conflicts happen.
@Test(arguments: 0..<40) func twoHeadMergesMatchTheGeneralFold(seed: UInt64) throws {
    var g = SplitMix(state: seed)
    let key = try SigningKey(seed: [UInt8](repeating: 3, count: 32))
    func commit(_ doc: Document, _ parents: [CommitID], _ wall: UInt64) -> SignedCommit {
        SignedCommit.sign(Commit(kind: .put, repository: "r", key: "k", parents: parents,
                                 timestamp: HLCTimestamp(wallMillis: wall, logical: 0), author: nil, document: doc), with: key)
    }
    func edit(_ d: Document) -> Document {
        var d = d
        for _ in 0..<Int.random(in: 0...3, using: &g) { d["f\(Int.random(in: 0...3, using: &g))"] = .int(Int64.random(in: 0...2, using: &g)) }
        return d
    }
    var graph = MemoryCommitGraph()
    let root = commit(sinkDocument(&g), [], 1)
    graph.add(root)
    // Either two edits of the root, or a chain on one side (no shared single parent).
    let a = commit(edit(root.commit.document ?? Document()), [root.id], UInt64.random(in: 2...3, using: &g))
    graph.add(a)
    let aa = seed % 2 == 0 ? a : commit(edit(a.commit.document ?? Document()), [a.id], 4)
    if aa.id != a.id { graph.add(aa) }
    let b = commit(edit(root.commit.document ?? Document()), [root.id], UInt64.random(in: 2...4, using: &g))
    graph.add(b)
    let two = try HeadMerge.mergeCommit(repository: "r", key: "k", heads: [aa.id, b.id], source: graph)
    let general = try HeadMerge.mergeCommit(repository: "r", key: "k", heads: [aa.id, b.id, aa.id], source: graph)
    #expect(SignedCommit.merge(two.commit).id == SignedCommit.merge(general.commit).id)
    #expect(two.conflicts == general.conflicts)
}

/// Strings are read with an ASCII fast path; on every input, including slices that do not
/// start at 0 and bytes around every UTF-8 boundary, they must be what `String(validating:)` says.
@Test func stringsReadAsTheStandardLibraryValidatesThem() {
    var g = SplitMix(state: 5)
    let alphabet: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x9F, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
    var nonASCII = 0, invalid = 0
    for _ in 0..<20_000 {
        // Printable ASCII, well-formed characters of two, three and four bytes, and lone bytes
        // around the boundaries.
        let pieces: [[UInt8]] = [Array("a".utf8), Array("é".utf8), Array("€".utf8), Array("😀".utf8)]
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 0...12, using: &g) {
            switch Int.random(in: 0..<3, using: &g) {
            case 0: bytes.append(UInt8.random(in: 0x20...0x7E, using: &g))
            case 1: bytes += pieces.randomElement(using: &g)!
            default: if Int.random(in: 0..<4, using: &g) == 0 { bytes.append(alphabet.randomElement(using: &g)!) }
            }
        }
        let start = Int.random(in: 0...bytes.count, using: &g)
        let slice = bytes[start...]
        let expected = String(validating: Array(slice), as: UTF8.self)
        #expect(ByteReader.string(validating: slice) == expected, "\(Array(slice))")
        if expected == nil { invalid += 1 } else if slice.contains(where: { $0 >= 0x80 }) { nonASCII += 1 }
    }
    #expect(invalid > 1000 && nonASCII > 100, "\(invalid) invalid, \(nonASCII) valid non-ASCII")
}
