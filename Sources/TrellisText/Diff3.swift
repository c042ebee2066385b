/// The three sequences a three-way merge runs over, by number: 0 the base, 1 ours, 2 theirs.
protocol MergeInput {
    func count(_ sequence: Int) -> Int
    /// Whether element `i` of sequence `s` equals element `j` of sequence `t`.
    func same(_ s: Int, _ i: Int, _ t: Int, _ j: Int) -> Bool
    /// The edit script of the base into sequence 1 or 2: the length of their common prefix,
    /// then the steps between it and their common suffix.
    mutating func script(_ side: Int) -> (prefix: Int, middle: [LineDiff.Step])
}

/// Elements `range` of sequence `source` (0 base, 1 ours, 2 theirs).
struct Segment: Equatable {
    var source: Int
    var range: Range<Int>
}

/// A run of a merge's output, as segments of its inputs.
enum MergedRun: Equatable {
    /// Taken as is: unchanged, changed on one side only, or changed the same on both.
    case resolved([Segment])
    /// Changed differently on both sides: base elements, and each side's version of them.
    case conflict(base: Range<Int>, ours: [Segment], theirs: [Segment])
}

/// Three-way merge of sequences (docs/merge.md §Text): each side's changes against the base are
/// cut into hunks, and only hunks of both sides that touch the same base elements conflict.
package enum Diff3 {
    package enum Chunk<T: Equatable>: Equatable {
        /// Taken as is: unchanged, changed on one side only, or changed the same on both.
        case resolved([T])
        /// Changed differently on both sides.
        case conflict(base: [T], ours: [T], theirs: [T])
    }

    /// Merges `ours` (the older side) and `theirs` (the newer) against `base`.
    package static func merge<T: Equatable>(base: [T], ours: [T], theirs: [T]) -> [Chunk<T>] {
        var input = ArrayInput(sequences: [base, ours, theirs])
        let elements = { (segments: [Segment]) in segments.flatMap { input.sequences[$0.source][$0.range] } }
        return merge(&input).map { run in
            switch run {
            case .resolved(let s): .resolved(elements(s))
            case .conflict(let b, let o, let t): .conflict(base: Array(base[b]), ours: elements(o), theirs: elements(t))
            }
        }
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
        var source: Int { side + 1 }

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

    /// Insertions at the same place are both kept, ours first (once when equal); a conflict is
    /// a run of hunks of both sides chained by overlaps, unless both sides made it the same.
    static func merge<I: MergeInput>(_ input: inout I) -> [MergedRun] {
        var all = hunks(&input, side: 0) + hunks(&input, side: 1)
        // By start; at one start insertions first, then ours before theirs.
        all.sort { a, b in
            if a.start != b.start { return a.start < b.start }
            if a.isInsertion != b.isInsertion { return a.isInsertion }
            return a.side < b.side
        }
        var runs: [MergedRun] = []
        var resolved: [Segment] = []
        func emit(_ source: Int, _ range: Range<Int>) { append(Segment(source: source, range: range), to: &resolved) }
        var position = 0
        var previousInsertion: Hunk? = nil
        var n = 0
        while n < all.count {
            // A cluster: the hunks chained to the first one by overlaps with the other side.
            let first = n
            var lastOurs: Hunk? = all[n].side == 0 ? all[n] : nil, lastTheirs: Hunk? = all[n].side == 1 ? all[n] : nil
            var low = all[n].start, high = all[n].end
            n += 1
            while n < all.count, let other = all[n].side == 0 ? lastTheirs : lastOurs, all[n].overlaps(other) {
                if all[n].side == 0 { lastOurs = all[n] } else { lastTheirs = all[n] }
                high = max(high, all[n].end)
                n += 1
            }
            let members = all[first..<n]
            emit(0, position..<low)
            position = high
            if members.count == 1 {
                let h = all[first]
                // Both sides inserted the same elements at the same place: keep them once.
                if h.isInsertion, let p = previousInsertion, p.start == h.start, p.side != h.side,
                   equal(input, [Segment(source: p.source, range: p.inserted)], [Segment(source: h.source, range: h.inserted)]) {
                    previousInsertion = nil
                    continue
                }
                previousInsertion = h.isInsertion ? h : nil
                emit(h.source, h.inserted)
                continue
            }
            previousInsertion = nil
            let oursInsert = members.contains { $0.side == 0 && !$0.inserted.isEmpty }
            let theirsInsert = members.contains { $0.side == 1 && !$0.inserted.isEmpty }
            if !(oursInsert && theirsInsert) {
                // Only one side inserts here: deletions of both sides apply around its insertions.
                for s in union(inserting: oursInsert ? 0 : 1, members, low: low, high: high) { append(s, to: &resolved) }
                continue
            }
            let o = version(of: 0, members, low: low, high: high), t = version(of: 1, members, low: low, high: high)
            if equal(input, o, t) {
                for s in o { append(s, to: &resolved) }
            } else {
                if !resolved.isEmpty { runs.append(.resolved(resolved)); resolved = [] }
                runs.append(.conflict(base: low..<high, ours: o, theirs: t))
            }
        }
        emit(0, position..<input.count(0))
        if !resolved.isEmpty { runs.append(.resolved(resolved)) }
        return runs
    }

    /// Appends a segment, joining it to the last one when it continues it.
    private static func append(_ s: Segment, to list: inout [Segment]) {
        guard !s.range.isEmpty else { return }
        if let last = list.last, last.source == s.source, last.range.upperBound == s.range.lowerBound {
            list[list.count - 1].range = last.range.lowerBound..<s.range.upperBound
        } else {
            list.append(s)
        }
    }

    /// Whether two lists of segments hold equal elements.
    private static func equal<I: MergeInput>(_ input: I, _ a: [Segment], _ b: [Segment]) -> Bool {
        guard a.reduce(0, { $0 + $1.range.count }) == b.reduce(0, { $0 + $1.range.count }) else { return false }
        var (x, i) = (0, a.first?.range.lowerBound ?? 0), (y, j) = (0, b.first?.range.lowerBound ?? 0)
        while x < a.count, y < b.count {
            if i == a[x].range.upperBound { x += 1; i = x < a.count ? a[x].range.lowerBound : 0; continue }
            if j == b[y].range.upperBound { y += 1; j = y < b.count ? b[y].range.lowerBound : 0; continue }
            guard input.same(a[x].source, i, b[y].source, j) else { return false }
            i += 1; j += 1
        }
        return true
    }

    /// One side's version of base elements `low..<high`, given the cluster's hunks.
    private static func version(of side: Int, _ members: ArraySlice<Hunk>, low: Int, high: Int) -> [Segment] {
        var out: [Segment] = []
        var p = low
        for h in members where h.side == side {
            append(Segment(source: 0, range: p..<h.start), to: &out)
            append(Segment(source: h.source, range: h.inserted), to: &out)
            p = h.end
        }
        append(Segment(source: 0, range: p..<high), to: &out)
        return out
    }

    /// Base elements `low..<high` without those either side deleted, with the insertions of
    /// `side` (the only side that inserts in this cluster) at their places.
    private static func union(inserting side: Int, _ members: ArraySlice<Hunk>, low: Int, high: Int) -> [Segment] {
        var deleted = [Bool](repeating: false, count: high - low)
        var insertions: [Int: Range<Int>] = [:]
        for h in members {
            for p in h.start..<h.end { deleted[p - low] = true }
            if h.side == side { insertions[h.start] = h.inserted }
        }
        var out: [Segment] = []
        for p in low..<high {
            if let r = insertions[p] { append(Segment(source: side + 1, range: r), to: &out) }
            if !deleted[p - low] { append(Segment(source: 0, range: p..<p + 1), to: &out) }
        }
        return out
    }

    /// The hunks of a side against the base: maximal runs of its edit script without a kept element.
    private static func hunks<I: MergeInput>(_ input: inout I, side: Int) -> [Hunk] {
        let (prefix, middle) = input.script(side + 1)
        var out: [Hunk] = []
        var i = prefix, j = prefix
        var open: (start: Int, inserted: Int)? = nil
        func close() {
            if let o = open { out.append(Hunk(start: o.start, end: i, inserted: o.inserted..<j, side: side)) }
            open = nil
        }
        for step in middle {
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

/// Arrays of elements compared with `==`.
private struct ArrayInput<T: Equatable>: MergeInput {
    let sequences: [[T]]
    func count(_ s: Int) -> Int { sequences[s].count }
    func same(_ s: Int, _ i: Int, _ t: Int, _ j: Int) -> Bool { sequences[s][i] == sequences[t][j] }
    func script(_ side: Int) -> (prefix: Int, middle: [LineDiff.Step]) {
        let steps = LineDiff.script(sequences[0], sequences[side])
        // The script's leading run of kept elements is the common prefix.
        let prefix = steps.firstIndex { if case .same = $0 { false } else { true } } ?? steps.count
        return (prefix, Array(steps[prefix...]))
    }
}
