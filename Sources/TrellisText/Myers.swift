/// Whether element `i` of one sequence equals element `j` of another: what Myers' algorithm
/// compares. Text merges compare interned line numbers; `LineDiff.script` compares elements.
protocol Equivalence {
    func same(_ i: Int, _ j: Int) -> Bool
}

/// Myers' O(ND) shortest edit script (Myers 1986), the algorithm behind `git diff`'s default,
/// on the part of two sequences left after trimming their common prefix and suffix.
enum Myers {
    /// What a search keeps, reused from one search to the next so that the many small
    /// searches of a word pass allocate nothing: after round d, the furthest x reached on each
    /// diagonal k = -d, -d+2, ..., d, as d + 1 values from `start(d)`. Round d reads only round
    /// d - 1, and so does the backward walk that retraces it.
    struct Buffers {
        var rounds: [Int] = []
    }

    /// The edit script turning `a[offset..<offset + n]` into `b[offset..<offset + m]`.
    static func middle<E: Equivalence>(_ e: E, offset: Int, n: Int, m: Int) -> [LineDiff.Step] {
        var buffers = Buffers(), steps: [LineDiff.Step] = []
        middle(e, offset: offset, n: n, m: m, buffers: &buffers, into: &steps)
        return steps
    }

    private static func start(_ d: Int) -> Int { d &* (d &+ 1) / 2 }

    /// Appends to `steps` the edit script turning `a[offset..<offset + n]` into
    /// `b[offset..<offset + m]`. Among shortest scripts it takes, at each step back, the
    /// diagonal the forward pass came from (docs/merge.md §Text), so every implementation
    /// recovers the same path.
    static func middle<E: Equivalence>(_ e: E, offset: Int, n: Int, m: Int, buffers: inout Buffers,
                                       into steps: inout [LineDiff.Step]) {
        if n == 0 { for j in 0..<m { steps.append(.added(offset + j)) }; return }
        if m == 0 { for i in 0..<n { steps.append(.removed(offset + i)) }; return }
        var rounds = buffers.rounds
        buffers.rounds = []
        defer { buffers.rounds = rounds }
        // Rounds are written in place (the array's count is its usable size) and the array is
        // doubled whenever the next round would not fit.
        var d = 0
        while true {
            if rounds.count < start(d + 1) {
                rounds.append(contentsOf: repeatElement(0, count: Swift.max(rounds.count, start(d + 1) - rounds.count)))
            }
            let found = rounds.withUnsafeMutableBufferPointer { r in
                while start(d &+ 1) <= r.count {
                    if round(d, e, offset: offset, n: n, m: m, r) { return true }
                    d &+= 1
                }
                return false
            }
            if found { break }
        }
        // Walk back from (n, m), writing the steps from the end: a script of d edits keeps
        // (n + m - d) / 2 elements, so it has (n + m + d) / 2 steps. Round d came from diagonal
        // k + 1 or k - 1 of round d - 1.
        let first = steps.count
        steps.append(contentsOf: repeatElement(.same(0, 0), count: (n + m + d) / 2))
        rounds.withUnsafeBufferPointer { rounds in
            steps.withUnsafeMutableBufferPointer { out in
                var end = out.count
                var x = n, y = m
                for d in stride(from: d, through: 0, by: -1) {
                    let k = x - y
                    // Round d - 1 holds diagonals -(d-1)...(d-1); diagonal j sits at (j + d - 1) / 2.
                    func previous(_ j: Int) -> Int { rounds[start(d - 1) + (j + d - 1) / 2] }
                    let prevK = (k == -d || (k != d && previous(k - 1) < previous(k + 1))) ? k + 1 : k - 1
                    let prevX = d == 0 ? 0 : previous(prevK)
                    let prevY = prevX - prevK
                    while x > prevX, y > prevY {
                        x &-= 1; y &-= 1; end &-= 1
                        out[end] = .same(offset &+ x, offset &+ y)
                    }
                    if d > 0 {
                        end &-= 1
                        if x == prevX { y -= 1; out[end] = .added(offset + y) } else { x -= 1; out[end] = .removed(offset + x) }
                    }
                }
                assert(end == first, "Myers: the walk back wrote \(out.count - end) steps, not \(out.count - first)")
            }
        }
    }

    /// Round d of the forward search: diagonal k = 2i - d, whose neighbours k - 1 and k + 1
    /// are entries i - 1 and i of round d - 1. The rule is Myers': from k + 1 (down) at the
    /// lower edge or when it reaches further, else from k - 1 (right). True when it reaches
    /// (n, m).
    @inline(__always)
    private static func round<E: Equivalence>(_ d: Int, _ e: E, offset: Int, n: Int, m: Int,
                                              _ r: UnsafeMutableBufferPointer<Int>) -> Bool {
        let previous = d == 0 ? 0 : start(d &- 1), current = start(d)
        var i = 0
        while i <= d {
            var x: Int
            if d == 0 {
                x = 0
            } else if i == 0 {
                x = r[previous]
            } else if i == d {
                x = r[previous &+ d &- 1] &+ 1
            } else {
                let left = r[previous &+ i &- 1], down = r[previous &+ i]
                x = left < down ? down : left &+ 1
            }
            var y = x &- (2 &* i &- d)
            while x < n, y < m, e.same(offset &+ x, offset &+ y) { x &+= 1; y &+= 1 }
            r[current &+ i] = x
            if x >= n, y >= m { return true }
            i &+= 1
        }
        return false
    }
}
