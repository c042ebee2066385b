/// The outcome of merging text.
package struct TextMergeResult: Equatable, Sendable {
    package enum Piece: Equatable, Sendable {
        case text(String)
        /// A hunk that neither lines nor words could merge.
        case conflict(base: String, ours: String, theirs: String)
    }

    package var pieces: [Piece]
    package var isClean: Bool { !pieces.contains { if case .conflict = $0 { true } else { false } } }

    /// The merged text with each conflict resolved to one side.
    package func resolved(preferOurs: Bool) -> String {
        if pieces.count == 1, case .text(let s) = pieces[0] { return s }
        return pieces.map { piece in
            switch piece {
            case .text(let s): s
            case .conflict(_, let o, let t): preferOurs ? o : t
            }
        }.joined()
    }
}

/// Text merges over UTF-8 bytes, never over Unicode characters, so that every peer splits and
/// compares text the same way (docs/merge.md §Text).
package enum TextMerge {

    /// Lines first; a conflicting line hunk is merged again over words (runs of non-white-space
    /// bytes and runs of white-space bytes), and only a hunk that still conflicts stays one.
    /// `ours` is the older side: of two insertions at one place, its comes first.
    package static func merge(base: String, ours: String, theirs: String) -> TextMergeResult {
        var (b, o, t) = (base, ours, theirs)
        return b.withUTF8 { b in o.withUTF8 { o in t.withUTF8 { t in
            merge([UnsafeRawBufferPointer(b), UnsafeRawBufferPointer(o), UnsafeRawBufferPointer(t)])
        } } }
    }

    private static func merge(_ texts: [UnsafeRawBufferPointer]) -> TextMergeResult {
        var lines = ByteTokens(texts: texts, cut: .lines)
        var words = ByteTokens(cut: .words)
        var pieces: [TextMergeResult.Piece] = []
        var pending: [UInt8] = []
        pending.reserveCapacity(max(texts[1].count, texts[2].count))
        func flush() {
            if !pending.isEmpty { pieces.append(.text(String(decoding: pending, as: UTF8.self))) }
            pending.removeAll(keepingCapacity: true)
        }
        // A conflicting hunk's three versions, one after the other: base, ours, theirs.
        var hunk: [UInt8] = []
        for run in Diff3.merge(&lines) {
            switch run {
            case .resolved(let segments):
                for s in segments { pending += lines.bytes(s.source, s.range) }
            case .conflict(let b, let o, let t):
                hunk.removeAll(keepingCapacity: true)
                hunk += lines.bytes(0, b)
                let oursStart = hunk.count
                for s in o { hunk += lines.bytes(s.source, s.range) }
                let theirsStart = hunk.count
                for s in t { hunk += lines.bytes(s.source, s.range) }
                let clean = hunk.withUnsafeBytes { all in
                    let versions = [UnsafeRawBufferPointer(rebasing: all[..<oursStart]),
                                    UnsafeRawBufferPointer(rebasing: all[oursStart..<theirsStart]),
                                    UnsafeRawBufferPointer(rebasing: all[theirsStart...])]
                    words.load(versions)
                    let runs = Diff3.merge(&words)
                    guard runs.allSatisfy({ if case .resolved = $0 { true } else { false } }) else { return false }
                    for case .resolved(let segments) in runs { for s in segments { pending += words.bytes(s.source, s.range) } }
                    return true
                }
                if !clean {
                    flush()
                    pieces.append(.conflict(base: String(decoding: hunk[..<oursStart], as: UTF8.self),
                                            ours: String(decoding: hunk[oursStart..<theirsStart], as: UTF8.self),
                                            theirs: String(decoding: hunk[theirsStart...], as: UTF8.self)))
                }
            }
        }
        flush()
        return TextMergeResult(pieces: pieces)
    }

    /// The merge as git-style text: conflicts between `<<<<<<<`, `=======` and `>>>>>>>` markers.
    package static func withMarkers(_ result: TextMergeResult, oursLabel: String, theirsLabel: String) -> String {
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
