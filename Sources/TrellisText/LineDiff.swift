/// One line of a line diff.
public enum LineEdit: Hashable, Sendable {
    case same(String)
    case removed(String)
    case added(String)
}

/// Myers' O(ND) shortest edit script (Myers 1986), the algorithm behind `git diff`'s default.
/// It gives a minimal diff, which keeps both the display and later three-way merges small.
package enum LineDiff {
    /// Splits text into lines, each keeping its "\n" so that joining them gives the text back.
    package static func lines(_ text: String) -> [Substring] {
        // Split on the byte 0x0A: no grapheme breaking is needed to find line ends.
        var out: [Substring] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        var i = start
        while i < utf8.endIndex {
            let next = utf8.index(after: i)
            if utf8[i] == 0x0A {
                out.append(text[start..<next])
                start = next
            }
            i = next
        }
        if start < utf8.endIndex { out.append(text[start..<utf8.endIndex]) }
        return out
    }

    package static func diff(_ old: String, _ new: String) -> [LineEdit] {
        let a = lines(old), b = lines(new)
        return script(a, b).map { edit in
            switch edit {
            case .same(let i, _): .same(String(a[i]))
            case .removed(let i): .removed(String(a[i]))
            case .added(let j): .added(String(b[j]))
            }
        }
    }

    package enum Step: Hashable, Sendable {
        case same(Int, Int)
        case removed(Int)
        case added(Int)
    }

    /// The edit script turning `a` into `b`, as indices into each.
    package static func script<T: Equatable>(_ a: [T], _ b: [T]) -> [Step] {
        // Trim the common prefix and suffix first: most edits touch a small part.
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix,
              a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let n = a.count - prefix - suffix, m = b.count - prefix - suffix
        var steps: [Step] = (0..<prefix).map { .same($0, $0) }
        steps.append(contentsOf: middle(a, b, offset: prefix, n: n, m: m))
        for k in 0..<suffix { steps.append(.same(a.count - suffix + k, b.count - suffix + k)) }
        return steps
    }

    private static func middle<T: Equatable>(_ a: [T], _ b: [T], offset: Int, n: Int, m: Int) -> [Step] {
        if n == 0 { return (0..<m).map { .added(offset + $0) } }
        if m == 0 { return (0..<n).map { .removed(offset + $0) } }
        let max = n + m
        var v = [Int](repeating: 0, count: 2 * max + 2)
        var trace: [[Int]] = []
        var found = false
        for d in 0...max {
            trace.append(v)
            for k in stride(from: -d, through: d, by: 2) {
                var x: Int
                if k == -d || (k != d && v[max + k - 1] < v[max + k + 1]) {
                    x = v[max + k + 1]
                } else {
                    x = v[max + k - 1] + 1
                }
                var y = x - k
                while x < n, y < m, a[offset + x] == b[offset + y] { x += 1; y += 1 }
                v[max + k] = x
                if x >= n, y >= m { found = true; break }
            }
            if found { break }
        }
        // Walk the trace backwards to recover the path.
        var steps: [Step] = []
        var x = n, y = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let vd = trace[d]
            let k = x - y
            let prevK = (k == -d || (k != d && vd[max + k - 1] < vd[max + k + 1])) ? k + 1 : k - 1
            let prevX = d == 0 ? 0 : vd[max + prevK]
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
