/// Three-way merge of sequences (diff3, after Khanna, Kunal and Pierce 2007), and of text: lines
/// first, then words inside a hunk that both sides changed differently.
public enum Diff3 {
    public enum Chunk<T: Equatable>: Equatable {
        /// Taken as is: unchanged, changed on one side only, or changed the same on both.
        case resolved([T])
        /// Changed differently on both sides.
        case conflict(base: [T], ours: [T], theirs: [T])
    }

    /// Splits the three sequences at lines that all three share (matched by Myers' diff against
    /// the base) and resolves each span between them.
    public static func merge<T: Equatable>(base: [T], ours: [T], theirs: [T]) -> [Chunk<T>] {
        let toOurs = matches(base, ours), toTheirs = matches(base, theirs)
        var chunks: [Chunk<T>] = []
        var stable: [T] = []
        var i = 0, j = 0, k = 0
        func flushStable() {
            if !stable.isEmpty { chunks.append(.resolved(stable)); stable = [] }
        }
        while true {
            if i < base.count, toOurs[i] == j, toTheirs[i] == k {
                stable.append(base[i])
                i += 1; j += 1; k += 1
                continue
            }
            // The next base element that both sides kept ends the unstable span.
            var next = i
            while next < base.count, toOurs[next] < 0 || toTheirs[next] < 0 { next += 1 }
            let (nj, nk) = next < base.count ? (toOurs[next], toTheirs[next]) : (ours.count, theirs.count)
            let b = Array(base[i..<next]), o = Array(ours[j..<nj]), t = Array(theirs[k..<nk])
            if o == b {
                stable.append(contentsOf: t)
            } else if t == b || o == t {
                stable.append(contentsOf: o)
            } else {
                flushStable()
                chunks.append(.conflict(base: b, ours: o, theirs: t))
            }
            if next >= base.count { break }
            (i, j, k) = (next, nj, nk)
        }
        flushStable()
        return chunks
    }

    /// For each base index, the index it matches in `other`, or -1.
    static func matches<T: Equatable>(_ base: [T], _ other: [T]) -> [Int] {
        var out = [Int](repeating: -1, count: base.count)
        for step in LineDiff.script(base, other) {
            if case .same(let a, let b) = step { out[a] = b }
        }
        return out
    }
}

/// The outcome of merging text.
public struct TextMergeResult: Equatable, Sendable {
    public enum Piece: Equatable, Sendable {
        case text(String)
        /// A hunk that neither lines nor words could merge.
        case conflict(base: String, ours: String, theirs: String)
    }

    public var pieces: [Piece]
    public var isClean: Bool { !pieces.contains { if case .conflict = $0 { true } else { false } } }

    /// The merged text with each conflict resolved to one side.
    public func resolved(preferOurs: Bool) -> String {
        pieces.map { piece in
            switch piece {
            case .text(let s): s
            case .conflict(_, let o, let t): preferOurs ? o : t
            }
        }.joined()
    }
}

public enum TextMerge {
    /// diff3 over lines; a conflicting line hunk is merged again over words (runs of
    /// non-space characters and runs of spaces), and only a hunk that still conflicts stays one.
    public static func merge(base: String, ours: String, theirs: String) -> TextMergeResult {
        let chunks = Diff3.merge(base: lines(base), ours: lines(ours), theirs: lines(theirs))
        var pieces: [TextMergeResult.Piece] = []
        func append(_ s: String) {
            guard !s.isEmpty else { return }
            if case .text(let previous)? = pieces.last {
                pieces[pieces.count - 1] = .text(previous + s)
            } else {
                pieces.append(.text(s))
            }
        }
        for chunk in chunks {
            switch chunk {
            case .resolved(let ls): append(ls.joined())
            case .conflict(let b, let o, let t):
                let (bt, ot, tt) = (b.joined(), o.joined(), t.joined())
                let words = Diff3.merge(base: self.words(bt), ours: self.words(ot), theirs: self.words(tt))
                if words.allSatisfy({ if case .resolved = $0 { true } else { false } }) {
                    for case .resolved(let ws) in words { append(ws.joined()) }
                } else {
                    pieces.append(.conflict(base: bt, ours: ot, theirs: tt))
                }
            }
        }
        return TextMergeResult(pieces: pieces)
    }

    static func lines(_ text: String) -> [String] { LineDiff.lines(text).map(String.init) }

    /// Words and the white space between them, so that joining gives the text back.
    static func words(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var currentIsSpace = false
        for ch in text {
            let isSpace = ch.isWhitespace
            if !current.isEmpty, isSpace != currentIsSpace {
                out.append(current)
                current = ""
            }
            current.append(ch)
            currentIsSpace = isSpace
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// The merge as git-style text: conflicts between `<<<<<<<`, `=======` and `>>>>>>>` markers.
    public static func withMarkers(_ result: TextMergeResult, oursLabel: String, theirsLabel: String) -> String {
        var out = ""
        for piece in result.pieces {
            switch piece {
            case .text(let s): out += s
            case .conflict(_, let o, let t):
                out += "<<<<<<< \(oursLabel)\n" + terminated(o) + "=======\n" + terminated(t) + ">>>>>>> \(theirsLabel)\n"
            }
        }
        return out
    }

    private static func terminated(_ s: String) -> String { s.isEmpty || s.hasSuffix("\n") ? s : s + "\n" }
}
