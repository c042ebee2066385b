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

/// A merge's output as runs over one flat list of segments, kept from one merge to the next
/// so that a merge of small texts allocates nothing once the arrays have grown.
struct MergedRuns {
    struct Run {
        /// Changed differently on both sides: `base` holds the base elements, `first` our
        /// version's segments and `second` theirs. Otherwise `first` is taken as is.
        var isConflict: Bool
        var base: Range<Int>
        var first: Range<Int>
        var second: Range<Int>
    }

    var runs: [Run] = []
    var segments: [Segment] = []
    var isClean: Bool { !runs.contains { $0.isConflict } }

    mutating func removeAll() {
        runs.removeAll(keepingCapacity: true)
        segments.removeAll(keepingCapacity: true)
    }
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
        var scratch = Scratch()
        merge(&input, &scratch)
        let out = scratch.output
        let elements = { (r: Range<Int>) in out.segments[r].flatMap { input.sequences[$0.source][$0.range] } }
        return out.runs.map { run in
            run.isConflict ? .conflict(base: Array(base[run.base]), ours: elements(run.first), theirs: elements(run.second))
                : .resolved(elements(run.first))
        }
    }

    /// What a merge works in, kept between merges: its hunks, versions and output.
    struct Scratch {
        var all: [Hunk] = []
        var ours: [Segment] = [], theirs: [Segment] = []
        var deleted: [Bool] = []
        var output = MergedRuns()
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
    /// The result is left in `scratch.output`.
    static func merge<I: MergeInput>(_ input: inout I, _ scratch: inout Scratch) {
        scratch.all.removeAll(keepingCapacity: true)
        hunks(&input, side: 0, into: &scratch.all)
        hunks(&input, side: 1, into: &scratch.all)
        // By start; at one start insertions first, then ours before theirs.
        scratch.all.sort { a, b in
            if a.start != b.start { return a.start < b.start }
            if a.isInsertion != b.isInsertion { return a.isInsertion }
            return a.side < b.side
        }
        scratch.output.removeAll()
        let all = scratch.all
        var runStart = 0
        func emit(_ source: Int, _ range: Range<Int>) {
            append(Segment(source: source, range: range), to: &scratch.output.segments, after: runStart)
        }
        func closeRun() {
            let end = scratch.output.segments.count
            if end > runStart { scratch.output.runs.append(.init(isConflict: false, base: 0..<0, first: runStart..<end, second: end..<end)) }
            runStart = end
        }
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
                   equal(input, [Segment(source: p.source, range: p.inserted)][...], [Segment(source: h.source, range: h.inserted)][...]) {
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
                union(inserting: oursInsert ? 0 : 1, members, low: low, high: high, &scratch, after: runStart)
                continue
            }
            version(of: 0, members, low: low, high: high, into: &scratch.ours)
            version(of: 1, members, low: low, high: high, into: &scratch.theirs)
            if equal(input, scratch.ours[...], scratch.theirs[...]) {
                for s in scratch.ours { append(s, to: &scratch.output.segments, after: runStart) }
            } else {
                closeRun()
                let o = scratch.output.segments.count
                scratch.output.segments += scratch.ours
                let t = scratch.output.segments.count
                scratch.output.segments += scratch.theirs
                let end = scratch.output.segments.count
                scratch.output.runs.append(.init(isConflict: true, base: low..<high, first: o..<t, second: t..<end))
                runStart = end
            }
        }
        emit(0, position..<input.count(0))
        closeRun()
    }

    /// Appends a segment, joining it to the last one when it continues it (and lies at or
    /// after `floor`, where the current run's segments begin).
    private static func append(_ s: Segment, to list: inout [Segment], after floor: Int = 0) {
        guard !s.range.isEmpty else { return }
        if list.count > floor, let last = list.last, last.source == s.source, last.range.upperBound == s.range.lowerBound {
            list[list.count - 1].range = last.range.lowerBound..<s.range.upperBound
        } else {
            list.append(s)
        }
    }

    /// Whether two lists of segments hold equal elements.
    private static func equal<I: MergeInput>(_ input: I, _ a: ArraySlice<Segment>, _ b: ArraySlice<Segment>) -> Bool {
        guard a.reduce(0, { $0 + $1.range.count }) == b.reduce(0, { $0 + $1.range.count }) else { return false }
        var x = a.startIndex, y = b.startIndex
        var i = a.first?.range.lowerBound ?? 0, j = b.first?.range.lowerBound ?? 0
        while x < a.endIndex, y < b.endIndex {
            if i == a[x].range.upperBound { x += 1; i = x < a.endIndex ? a[x].range.lowerBound : 0; continue }
            if j == b[y].range.upperBound { y += 1; j = y < b.endIndex ? b[y].range.lowerBound : 0; continue }
            guard input.same(a[x].source, i, b[y].source, j) else { return false }
            i += 1; j += 1
        }
        return true
    }

    /// One side's version of base elements `low..<high`, given the cluster's hunks.
    private static func version(of side: Int, _ members: ArraySlice<Hunk>, low: Int, high: Int, into out: inout [Segment]) {
        out.removeAll(keepingCapacity: true)
        var p = low
        for h in members where h.side == side {
            append(Segment(source: 0, range: p..<h.start), to: &out)
            append(Segment(source: h.source, range: h.inserted), to: &out)
            p = h.end
        }
        append(Segment(source: 0, range: p..<high), to: &out)
    }

    /// Base elements `low..<high` without those either side deleted, with the insertions of
    /// `side` (the only side that inserts in this cluster) at their places, onto the output.
    private static func union(inserting side: Int, _ members: ArraySlice<Hunk>, low: Int, high: Int, _ scratch: inout Scratch,
                              after floor: Int) {
        scratch.deleted.removeAll(keepingCapacity: true)
        scratch.deleted.append(contentsOf: repeatElement(false, count: high - low))
        for h in members { for p in h.start..<h.end { scratch.deleted[p - low] = true } }
        // The inserting side's hunks, in order of start, at most one per start.
        var next = members.startIndex
        for p in low..<high {
            while next < members.endIndex, members[next].side != side || members[next].start < p { next += 1 }
            if next < members.endIndex, members[next].start == p {
                append(Segment(source: side + 1, range: members[next].inserted), to: &scratch.output.segments, after: floor)
            }
            if !scratch.deleted[p - low] { append(Segment(source: 0, range: p..<p + 1), to: &scratch.output.segments, after: floor) }
        }
    }

    /// The hunks of a side against the base: maximal runs of its edit script without a kept element.
    private static func hunks<I: MergeInput>(_ input: inout I, side: Int, into out: inout [Hunk]) {
        let (prefix, middle) = input.script(side + 1)
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
