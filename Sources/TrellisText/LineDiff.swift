/// One line of a line diff.
public enum LineEdit: Hashable, Sendable {
    case same(String)
    case removed(String)
    case added(String)
}

/// Line diffs by Myers' shortest edit script, which keeps both the display and later three-way
/// merges small.
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
        steps.append(contentsOf: Myers.middle(ElementEquivalence(a: a, b: b), offset: prefix, n: n, m: m))
        for k in 0..<suffix { steps.append(.same(a.count - suffix + k, b.count - suffix + k)) }
        return steps
    }
}

/// Elements of two arrays compared with `==`.
private struct ElementEquivalence<T: Equatable>: Equivalence {
    let a: [T], b: [T]
    func same(_ i: Int, _ j: Int) -> Bool { a[i] == b[j] }
}
