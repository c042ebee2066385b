/// Whether element `i` of one sequence equals element `j` of another: what Myers' algorithm
/// compares. Text merges compare interned line numbers; `LineDiff.script` compares elements.
protocol Equivalence {
    func same(_ i: Int, _ j: Int) -> Bool
}

/// Myers' O(ND) shortest edit script (Myers 1986), the algorithm behind `git diff`'s default,
/// on the part of two sequences left after trimming their common prefix and suffix.
enum Myers {
    /// The edit script turning `a[offset..<offset + n]` into `b[offset..<offset + m]`. Among
    /// shortest scripts it takes, at each step back, the diagonal the forward pass came from
    /// (docs/merge.md §Text), so every implementation recovers the same path.
    static func middle<E: Equivalence>(_ e: E, offset: Int, n: Int, m: Int) -> [LineDiff.Step] {
        if n == 0 { return (0..<m).map { .added(offset + $0) } }
        if m == 0 { return (0..<n).map { .removed(offset + $0) } }
        let max = n + m
        // v[center + k]: the furthest x on diagonal k, for |k| <= center; grown as d grows, so
        // that a small edit of a large text allocates little.
        var center = Swift.min(max, 32)
        var v = [Int](repeating: 0, count: 2 * center + 1)
        // After round d, the furthest x on each diagonal k = -d, -d+2, ..., d, kept as d + 1
        // values from `start(d)`: the backward walk reads round d - 1 to retrace round d.
        var rounds: [Int] = []
        func start(_ d: Int) -> Int { d * (d + 1) / 2 }
        var last = 0
        search: for d in 0...max {
            if d > center {
                let wider = Swift.min(max, 2 * center)
                var w = [Int](repeating: 0, count: 2 * wider + 1)
                for i in v.indices { w[i - center + wider] = v[i] }
                (v, center) = (w, wider)
            }
            let found = v.withUnsafeMutableBufferPointer { v in
                var k = -d
                while k <= d {
                    var x: Int
                    if k == -d || (k != d && v[center + k - 1] < v[center + k + 1]) {
                        x = v[center + k + 1]
                    } else {
                        x = v[center + k - 1] + 1
                    }
                    var y = x - k
                    while x < n, y < m, e.same(offset + x, offset + y) { x += 1; y += 1 }
                    v[center + k] = x
                    if x >= n, y >= m { return true }
                    k += 2
                }
                return false
            }
            if found { last = d; break search }
            var k = -d
            while k <= d { rounds.append(v[center + k]); k += 2 }
        }
        // Walk back from (n, m): round d came from diagonal k + 1 or k - 1 of round d - 1.
        var steps: [LineDiff.Step] = []
        var x = n, y = m
        for d in stride(from: last, through: 0, by: -1) {
            let k = x - y
            // Round d - 1 holds diagonals -(d-1)...(d-1); diagonal j sits at (j + d - 1) / 2.
            func previous(_ j: Int) -> Int { rounds[start(d - 1) + (j + d - 1) / 2] }
            let prevK = (k == -d || (k != d && previous(k - 1) < previous(k + 1))) ? k + 1 : k - 1
            let prevX = d == 0 ? 0 : previous(prevK)
            let prevY = prevX - prevK
            while x > prevX, y > prevY {
                x -= 1; y -= 1
                steps.append(.same(offset + x, offset + y))
            }
            if d > 0 {
                if x == prevX { y -= 1; steps.append(.added(offset + y)) } else { x -= 1; steps.append(.removed(offset + x)) }
            }
        }
        return steps.reversed()
    }
}
