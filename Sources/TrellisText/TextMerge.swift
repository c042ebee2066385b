/// Three-way merge of sequences (docs/merge.md §Text): each side's changes against the base are
/// cut into hunks, and only hunks of both sides that touch the same base elements conflict.
package enum Diff3 {
    package enum Chunk<T: Equatable>: Equatable {
        /// Taken as is: unchanged, changed on one side only, or changed the same on both.
        case resolved([T])
        /// Changed differently on both sides.
        case conflict(base: [T], ours: [T], theirs: [T])
    }

    /// One side's change: base elements `start..<end` replaced by the side's `inserted` elements.
    /// A pure insertion has `start == end` (the gap before base element `start`).
    struct Hunk {
        var start: Int
        var end: Int
        var inserted: Range<Int>
        /// 0 for ours (the older side), 1 for theirs.
        var side: Int
        var isInsertion: Bool { start == end }

        /// Whether two hunks of different sides touch the same base elements. Two insertions
        /// never do; an insertion does only strictly inside the other's replaced range.
        func overlaps(_ other: Hunk) -> Bool {
            switch (isInsertion, other.isInsertion) {
            case (true, true): false
            case (true, false): other.start < start && start < other.end
            case (false, true): start < other.start && other.start < end
            case (false, false): start < other.end && other.start < end
            }
        }
    }

    /// Merges `ours` (the older side) and `theirs` (the newer) against `base`. Insertions at
    /// the same place are both kept, ours first (once when equal); a conflict is a run of hunks
    /// of both sides chained by overlaps, unless both sides made it the same.
    package static func merge<T: Equatable>(base: [T], ours: [T], theirs: [T]) -> [Chunk<T>] {
        var all = hunks(base, ours, side: 0) + hunks(base, theirs, side: 1)
        // By start; at one start insertions first, then ours before theirs.
        all.sort { a, b in
            if a.start != b.start { return a.start < b.start }
            if a.isInsertion != b.isInsertion { return a.isInsertion }
            return a.side < b.side
        }
        let sides = [ours, theirs]
        var chunks: [Chunk<T>] = []
        func emit(_ items: ArraySlice<T>) {
            guard !items.isEmpty else { return }
            if case .resolved(let previous)? = chunks.last {
                chunks[chunks.count - 1] = .resolved(previous + items)
            } else {
                chunks.append(.resolved(Array(items)))
            }
        }
        var position = 0
        var previousInsertion: Hunk? = nil
        var n = 0
        while n < all.count {
            // A cluster: the hunks chained to the first one by overlaps with the other side.
            var members = [all[n]]
            var lastOfSide: [Hunk?] = [nil, nil]
            lastOfSide[all[n].side] = all[n]
            var low = all[n].start, high = all[n].end
            n += 1
            while n < all.count, let other = lastOfSide[1 - all[n].side], all[n].overlaps(other) {
                members.append(all[n])
                lastOfSide[all[n].side] = all[n]
                high = max(high, all[n].end)
                n += 1
            }
            emit(base[position..<low])
            position = high
            if members.count == 1 {
                let h = members[0]
                let items = sides[h.side][h.inserted]
                // Both sides inserted the same elements at the same place: keep them once.
                if h.isInsertion, let p = previousInsertion, p.start == h.start, p.side != h.side,
                   sides[p.side][p.inserted].elementsEqual(items) {
                    previousInsertion = nil
                    continue
                }
                previousInsertion = h.isInsertion ? h : nil
                emit(items)
                continue
            }
            previousInsertion = nil
            let inserts = [0, 1].map { side in members.contains { $0.side == side && !$0.inserted.isEmpty } }
            if !(inserts[0] && inserts[1]) {
                // Only one side inserts here: deletions of both sides apply around its insertions.
                emit(union(inserting: inserts[0] ? 0 : 1, members, base: base, sides: sides, low: low, high: high)[...])
                continue
            }
            let o = version(of: 0, members, base: base, sides: sides, low: low, high: high)
            let t = version(of: 1, members, base: base, sides: sides, low: low, high: high)
            if o == t {
                emit(o[...])
            } else {
                chunks.append(.conflict(base: Array(base[low..<high]), ours: o, theirs: t))
            }
        }
        emit(base[position...])
        return chunks
    }

    /// One side's version of `base[low..<high]`, given the cluster's hunks.
    private static func version<T>(of side: Int, _ members: [Hunk], base: [T], sides: [[T]], low: Int, high: Int) -> [T] {
        var out: [T] = []
        var p = low
        for h in members where h.side == side {
            out += base[p..<h.start]
            out += sides[side][h.inserted]
            p = h.end
        }
        out += base[p..<high]
        return out
    }

    /// `base[low..<high]` without the elements either side deleted, with the insertions of
    /// `side` (the only side that inserts in this cluster) at their places.
    private static func union<T>(inserting side: Int, _ members: [Hunk], base: [T], sides: [[T]], low: Int, high: Int) -> [T] {
        var deleted = [Bool](repeating: false, count: high - low)
        var insertions: [Int: Range<Int>] = [:]
        for h in members {
            for p in h.start..<h.end { deleted[p - low] = true }
            if h.side == side { insertions[h.start] = h.inserted }
        }
        var out: [T] = []
        for p in low..<high {
            if let r = insertions[p] { out += sides[side][r] }
            if !deleted[p - low] { out.append(base[p]) }
        }
        return out
    }

    /// The hunks of `other` against `base`: maximal runs of the edit script without a kept element.
    static func hunks<T: Equatable>(_ base: [T], _ other: [T], side: Int) -> [Hunk] {
        var out: [Hunk] = []
        var i = 0, j = 0
        var open: (start: Int, inserted: Int)? = nil
        func close() {
            if let o = open { out.append(Hunk(start: o.start, end: i, inserted: o.inserted..<j, side: side)) }
            open = nil
        }
        for step in LineDiff.script(base, other) {
            switch step {
            case .same:
                close()
                i += 1; j += 1
            case .removed:
                if open == nil { open = (i, j) }
                i += 1
            case .added:
                if open == nil { open = (i, j) }
                j += 1
            }
        }
        close()
        return out
    }
}

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
        pieces.map { piece in
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
    typealias Token = ArraySlice<UInt8>

    /// Lines first; a conflicting line hunk is merged again over words (runs of non-white-space
    /// bytes and runs of white-space bytes), and only a hunk that still conflicts stays one.
    /// `ours` is the older side: of two insertions at one place, its comes first.
    package static func merge(base: String, ours: String, theirs: String) -> TextMergeResult {
        let (b, o, t) = (Array(base.utf8), Array(ours.utf8), Array(theirs.utf8))
        let chunks = Diff3.merge(base: lines(b), ours: lines(o), theirs: lines(t))
        var pieces: [TextMergeResult.Piece] = []
        var pending: [UInt8] = []
        func flush() {
            if !pending.isEmpty { pieces.append(.text(String(decoding: pending, as: UTF8.self))) }
            pending = []
        }
        for chunk in chunks {
            switch chunk {
            case .resolved(let ls): for l in ls { pending += l }
            case .conflict(let bl, let ol, let tl):
                let (bt, ot, tt) = (joined(bl), joined(ol), joined(tl))
                let words = Diff3.merge(base: self.words(bt), ours: self.words(ot), theirs: self.words(tt))
                if words.allSatisfy({ if case .resolved = $0 { true } else { false } }) {
                    for case .resolved(let ws) in words { for w in ws { pending += w } }
                } else {
                    flush()
                    pieces.append(.conflict(base: String(decoding: bt, as: UTF8.self),
                                            ours: String(decoding: ot, as: UTF8.self),
                                            theirs: String(decoding: tt, as: UTF8.self)))
                }
            }
        }
        flush()
        return TextMergeResult(pieces: pieces)
    }

    private static func joined(_ tokens: [Token]) -> [UInt8] {
        var out: [UInt8] = []
        for t in tokens { out += t }
        return out
    }

    /// Lines, each with its "\n" (0x0A); a last line without one is still a line.
    static func lines(_ bytes: [UInt8]) -> [Token] {
        var out: [Token] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            out.append(bytes[start...i])
            start = i + 1
        }
        if start < bytes.count { out.append(bytes[start...]) }
        return out
    }

    /// White space for the word pass: space, tab, line feed, vertical tab, form feed, carriage return.
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// Maximal runs of white-space bytes and of other bytes, so that joining gives the text back.
    static func words(_ bytes: [UInt8]) -> [Token] {
        var out: [Token] = []
        var start = 0
        for i in bytes.indices where i > start && isSpace(bytes[i]) != isSpace(bytes[i - 1]) {
            out.append(bytes[start..<i])
            start = i
        }
        if start < bytes.count { out.append(bytes[start...]) }
        return out
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
