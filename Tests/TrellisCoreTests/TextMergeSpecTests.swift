import Foundation
import Testing
import TrellisTestSupport
@testable import TrellisCore

/// Random texts over a tiny alphabet of lines and words, so that equal lines, equal edits and
/// insertions at one place are common.
func randomText(_ g: inout SplitMix) -> String {
    let pieces = ["a", "b", "c", "a b", "b a", "x", "é", "e\u{301}", "", " ", "\t"]
    var out = ""
    for _ in 0..<Int.random(in: 0...7, using: &g) {
        out += pieces.randomElement(using: &g)! + (Int.random(in: 0..<6, using: &g) == 0 ? " " : "\n")
    }
    return out
}

/// An edit of a text: lines and words dropped, changed, inserted.
func editText(_ text: String, _ g: inout SplitMix) -> String {
    var lines = LineDiff.lines(text).map(String.init)
    for _ in 0..<Int.random(in: 0...3, using: &g) {
        let at = Int.random(in: 0...lines.count, using: &g)
        switch Int.random(in: 0..<5, using: &g) {
        case 0 where at < lines.count: lines.remove(at: at)
        case 1...2 where at < lines.count: lines[at] = randomText(&g)
        default: lines.insert(randomText(&g), at: at)
        }
    }
    return lines.joined()
}

@Test func textMergeAgreesWithTheIndependentPythonImplementation() throws {
    var g = SplitMix(state: 2026_12_01)
    var cases: [(String, String, String)] = []
    for _ in 0..<4000 {
        let base = randomText(&g)
        cases.append((base, editText(base, &g), editText(base, &g)))
    }
    let input = try cases.map { c in
        String(decoding: try JSONSerialization.data(withJSONObject: ["base": c.0, "ours": c.1, "theirs": c.2]), as: UTF8.self)
    }.joined(separator: "\n") + "\n"
    let r = try run("/usr/bin/env", ["python3", TestPaths.packageRoot + "/Tests/verify/text_merge.py"], stdin: Data(input.utf8))
    #expect(r.status == 0, "\(r.stderr)")
    let outputs = r.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    #expect(outputs.count == cases.count)
    var conflicts = 0
    for (c, line) in zip(cases, outputs) {
        let pieces = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [[String]] ?? []
        let theirs: [TextMergeResult.Piece] = pieces.map { p in
            p.first == "text" ? .text(p[1]) : .conflict(base: p[1], ours: p[2], theirs: p[3])
        }
        let mine = TextMerge.merge(base: c.0, ours: c.1, theirs: c.2)
        if !mine.isClean { conflicts += 1 }
        // Compare bytes: Swift strings would call é and e + U+0301 equal.
        let bytes = { (ps: [TextMergeResult.Piece]) in ps.map { p -> [[UInt8]] in
            switch p {
            case .text(let s): [Array(s.utf8)]
            case .conflict(let b, let o, let t): [Array(b.utf8), Array(o.utf8), Array(t.utf8)]
            }
        } }
        #expect(bytes(mine.pieces) == bytes(theirs), "base \(c.0.debugDescription) ours \(c.1.debugDescription) theirs \(c.2.debugDescription)")
    }
    print("text merge cases: \(cases.count), conflicts: \(conflicts)")
    #expect(conflicts > 100 && conflicts < cases.count - 1000, "conflicts: \(conflicts)")
}
