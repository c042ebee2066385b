import Foundation
import Testing
import TrellisTestSupport
@testable import TrellisCore

/// Merges recorded from the text merge as it stood before its rewrite for speed (issue 16):
/// Tests/corpus/text-merges.jsonl.gz holds each case's three inputs and the pieces that merge
/// gave. Every later implementation must give the same pieces, byte for byte. Set
/// TRELLIS_WRITE_TEXT_CORPUS=1 to write the file again from the current implementation.
@Test func textMergeGivesTheRecordedCorpusByteForByte() throws {
    let path = TestPaths.packageRoot + "/Tests/corpus/text-merges.jsonl.gz"
    if ProcessInfo.processInfo.environment["TRELLIS_WRITE_TEXT_CORPUS"] != nil {
        let lines = try corpusCases().map { c in
            let object: [String: Any] = ["base": c.base, "ours": c.ours, "theirs": c.theirs,
                                         "pieces": encode(TextMerge.merge(base: c.base, ours: c.ours, theirs: c.theirs))]
            return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        let raw = Data((lines.joined(separator: "\n") + "\n").utf8)
        let r = try run("/bin/sh", ["-c", "gzip -9n > '\(path)'"], stdin: raw)
        #expect(r.status == 0, "\(r.stderr)")
    }
    let r = try run("/bin/sh", ["-c", "gzip -dc '\(path)'"])
    try #require(r.status == 0, "cannot read \(path): \(r.stderr)")
    let lines = r.out.split(separator: "\n")
    #expect(lines.count == 4500)
    var conflicts = 0, bytes = 0
    for line in lines {
        let c = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let base = try #require(c["base"] as? String), ours = try #require(c["ours"] as? String)
        let theirs = try #require(c["theirs"] as? String), recorded = try #require(c["pieces"] as? [[String]])
        let merged = TextMerge.merge(base: base, ours: ours, theirs: theirs)
        if !merged.isClean { conflicts += 1 }
        bytes += base.utf8.count
        // Compared as bytes: Swift strings would call é and e + U+0301 equal.
        let mine = encode(merged).map { $0.map { Array($0.utf8) } }
        #expect(mine == recorded.map { $0.map { Array($0.utf8) } },
                "base \(base.debugDescription) ours \(ours.debugDescription) theirs \(theirs.debugDescription)")
    }
    print("text merge corpus: \(lines.count) cases, \(conflicts) with conflicts, \(bytes) base bytes")
    #expect(conflicts > 150 && conflicts < lines.count - 1000, "conflicts: \(conflicts)")
}

private func encode(_ result: TextMergeResult) -> [[String]] {
    result.pieces.map { p in
        switch p {
        case .text(let s): ["text", s]
        case .conflict(let b, let o, let t): ["conflict", b, o, t]
        }
    }
}

/// 3,000 tiny texts (the spec test's alphabet) and 1,500 longer ones: up to 150 lines of a few
/// words from a small vocabulary, with CRLF lines, tabs, a last line without a newline, and
/// edits of lines, words and blocks, so that equal lines, equal edits and moved blocks happen.
private func corpusCases() -> [(base: String, ours: String, theirs: String)] {
    var g = SplitMix(state: 2026_12_02)
    var out: [(String, String, String)] = []
    for _ in 0..<3000 {
        let base = randomText(&g)
        out.append((base, editText(base, &g), editText(base, &g)))
    }
    for _ in 0..<1500 {
        let base = longText(&g)
        // Both sides often edit near one place, so that line hunks conflict and words merge.
        let hot = Int.random(in: 0...max(0, LineDiff.lines(base).count - 4), using: &g)
        out.append((base, editLong(base, hot: hot, &g), editLong(base, hot: hot, &g)))
    }
    return out
}

private let vocabulary = ["the", "a", "task", "note", "fix", "bug", "é", "naïve", "日本", "x", "y", "z", "open", "done", "42", "-"]

private func longLine(_ g: inout SplitMix) -> String {
    let words = (0..<Int.random(in: 0...6, using: &g)).map { _ in vocabulary.randomElement(using: &g)! }
    let separator = Int.random(in: 0..<8, using: &g) == 0 ? "\t" : " "
    let end = Int.random(in: 0..<10, using: &g) == 0 ? "\r\n" : "\n"
    return words.joined(separator: separator) + end
}

private func longText(_ g: inout SplitMix) -> String {
    var lines = (0..<Int.random(in: 0...150, using: &g)).map { _ in longLine(&g) }
    if !lines.isEmpty, Int.random(in: 0..<4, using: &g) == 0 { lines[lines.count - 1].removeLast() }
    return lines.joined()
}

private func editLong(_ text: String, hot: Int, _ g: inout SplitMix) -> String {
    var lines = LineDiff.lines(text).map(String.init)
    for _ in 0..<Int.random(in: 0...6, using: &g) {
        let near = min(lines.count, hot + Int.random(in: 0...3, using: &g))
        let isHot = Bool.random(using: &g)
        let at = isHot ? near : Int.random(in: 0...lines.count, using: &g)
        let length = min(Int.random(in: 1...5, using: &g), lines.count - at)
        switch isHot && Bool.random(using: &g) ? 3 : Int.random(in: 0..<6, using: &g) {
        case 0 where length > 0: lines.removeSubrange(at..<at + length)
        case 1 where length > 0:
            // A word changed, added or dropped inside a line.
            var words = lines[at].split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            let w = Int.random(in: 0..<words.count, using: &g)
            switch Int.random(in: 0..<3, using: &g) {
            case 0: words[w] = vocabulary.randomElement(using: &g)!
            case 1: words.insert(vocabulary.randomElement(using: &g)!, at: w)
            default: if words.count > 1 { words.remove(at: w) }
            }
            lines[at] = words.joined(separator: " ")
        case 2 where length > 0:
            // A block moved elsewhere.
            let block = Array(lines[at..<at + length])
            lines.removeSubrange(at..<at + length)
            lines.insert(contentsOf: block, at: Int.random(in: 0...lines.count, using: &g))
        case 3 where length > 0: lines[at] = longLine(&g)
        default: lines.insert(contentsOf: (0..<length + 1).map { _ in longLine(&g) }, at: at)
        }
    }
    return lines.joined()
}
