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
        var pieces = PieceSink()
        merge(base: base, ours: ours, theirs: theirs, into: &pieces)
        pieces.flush()
        return TextMergeResult(pieces: pieces.pieces)
    }

    /// The merge as git-style text, written as bytes: each conflict between markers labelled
    /// `oursLabel` and `theirsLabel`, or resolved to one side when `prefer` says so.
    package static func text(base: String, ours: String, theirs: String, oursLabel: String, theirsLabel: String,
                              prefer: FileMerge.Prefer) -> (text: String, conflicted: Bool) {
        var sink = MarkerSink(prefer: prefer, oursLabel: oursLabel, theirsLabel: theirsLabel)
        merge(base: base, ours: ours, theirs: theirs, into: &sink)
        return (String(decoding: sink.out, as: UTF8.self), sink.conflicted)
    }

    private static func merge<S: Sink>(base: String, ours: String, theirs: String, into sink: inout S) {
        var (b, o, t) = (base, ours, theirs)
        sink.reserve(max(ours.utf8.count, theirs.utf8.count))
        b.withUTF8 { b in o.withUTF8 { o in t.withUTF8 { t in
            merge(UnsafeRawBufferPointer(b), UnsafeRawBufferPointer(o), UnsafeRawBufferPointer(t), Scratch(), into: &sink)
        } } }
    }

    /// Where a merge puts what it finds, in order: merged bytes, and hunks that still conflict.
    private protocol Sink {
        /// Room for about this many bytes of output, so that it is not copied as it grows.
        mutating func reserve(_ bytes: Int)
        mutating func text(_ bytes: UnsafeRawBufferPointer)
        mutating func conflict(base: UnsafeRawBufferPointer, ours: UnsafeRawBufferPointer, theirs: UnsafeRawBufferPointer)
    }

    /// Builds a `TextMergeResult`: merged bytes gather until a conflict or the end.
    private struct PieceSink: Sink {
        var pieces: [TextMergeResult.Piece] = []
        var pending: [UInt8] = []
        mutating func reserve(_ bytes: Int) { pending.reserveCapacity(bytes) }
        mutating func text(_ bytes: UnsafeRawBufferPointer) { pending += bytes }
        mutating func conflict(base: UnsafeRawBufferPointer, ours: UnsafeRawBufferPointer, theirs: UnsafeRawBufferPointer) {
            flush()
            pieces.append(.conflict(base: String(decoding: base, as: UTF8.self), ours: String(decoding: ours, as: UTF8.self),
                                    theirs: String(decoding: theirs, as: UTF8.self)))
        }
        mutating func flush() {
            if !pending.isEmpty { pieces.append(.text(String(decoding: pending, as: UTF8.self))) }
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Writes merge-file's output (docs/merge.md §merge-file) straight into one byte array.
    private struct MarkerSink: Sink {
        let prefer: FileMerge.Prefer
        let oursLabel: String, theirsLabel: String
        var out: [UInt8] = []
        var conflicted = false
        mutating func reserve(_ bytes: Int) { out.reserveCapacity(bytes + 64) }
        mutating func text(_ bytes: UnsafeRawBufferPointer) { out += bytes }
        mutating func conflict(base: UnsafeRawBufferPointer, ours: UnsafeRawBufferPointer, theirs: UnsafeRawBufferPointer) {
            switch prefer {
            case .ours: out += ours
            case .theirs: out += theirs
            case .none:
                conflicted = true
                out += "<<<<<<< ".utf8; out += oursLabel.utf8; out.append(0x0A)
                terminated(ours)
                out += "=======\n".utf8
                terminated(theirs)
                out += ">>>>>>> ".utf8; out += theirsLabel.utf8; out.append(0x0A)
            }
        }
        /// A side's lines, with a line feed after a last line that lacks one. As merge-file
        /// always has, a side ending in CR LF gets one too (it was a String's `hasSuffix("\n")`,
        /// false there, since CR LF is one character).
        private mutating func terminated(_ side: UnsafeRawBufferPointer) {
            out += side
            guard let last = side.last else { return }
            if last != 0x0A || (side.count >= 2 && side[side.count - 2] == 0x0D) { out.append(0x0A) }
        }
    }

    /// What a merge works in: both token tables, both Diff3 scratches and the hunk buffer,
    /// reused by every conflicting hunk of the merge. A class, so that the word pass can use
    /// its tables while it reads the hunk buffer.
    private final class Scratch {
        var lines = ByteTokens(cut: .lines), words = ByteTokens(cut: .words)
        var lineRuns = Diff3.Scratch(), wordRuns = Diff3.Scratch()
        /// A conflicting hunk's three versions in a row.
        var hunk: [UInt8] = []
    }

    private static func merge<S: Sink>(_ base: UnsafeRawBufferPointer, _ ours: UnsafeRawBufferPointer,
                                       _ theirs: UnsafeRawBufferPointer, _ scratch: Scratch, into sink: inout S) {
        scratch.lines.load(base, ours, theirs)
        Diff3.merge(&scratch.lines, &scratch.lineRuns)
        let lineOutput = scratch.lineRuns.output
        for run in lineOutput.runs {
            guard run.isConflict else {
                for s in lineOutput.segments[run.first] { sink.text(scratch.lines.bytes(s.source, s.range)) }
                continue
            }
            // The hunk's three versions, one after the other: base, ours, theirs.
            scratch.hunk.removeAll(keepingCapacity: true)
            scratch.hunk += scratch.lines.bytes(0, run.base)
            let oursStart = scratch.hunk.count
            for s in lineOutput.segments[run.first] { scratch.hunk += scratch.lines.bytes(s.source, s.range) }
            let theirsStart = scratch.hunk.count
            for s in lineOutput.segments[run.second] { scratch.hunk += scratch.lines.bytes(s.source, s.range) }
            scratch.hunk.withUnsafeBytes { all in
                let (b, o, t) = (UnsafeRawBufferPointer(rebasing: all[..<oursStart]),
                                 UnsafeRawBufferPointer(rebasing: all[oursStart..<theirsStart]),
                                 UnsafeRawBufferPointer(rebasing: all[theirsStart...]))
                scratch.words.load(b, o, t)
                Diff3.merge(&scratch.words, &scratch.wordRuns)
                let words = scratch.wordRuns.output
                guard words.isClean else { return sink.conflict(base: b, ours: o, theirs: t) }
                for r in words.runs { for s in words.segments[r.first] { sink.text(scratch.words.bytes(s.source, s.range)) } }
            }
        }
    }
}
