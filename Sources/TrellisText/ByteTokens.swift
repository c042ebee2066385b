#if canImport(Glibc)
import Glibc
#endif

/// Three byte strings cut into tokens (lines, or words), the input of a text merge. Tokens are
/// compared as bytes; those that Myers' algorithm will compare are first numbered by an
/// interning table, so that the search compares integers (equal bytes, equal numbers). The
/// bytes are borrowed: a value lives only inside the call that lends them.
package struct ByteTokens: MergeInput {
    /// Where tokens end: after each line feed, or between runs of white space and of other bytes.
    enum Cut { case lines, words }

    private let cut: Cut
    private(set) var texts: [UnsafeRawBufferPointer] = []
    /// Where each text's tokens begin in the flat arrays below; the last entry is their count.
    private var first: [Int] = []
    /// Each token's byte range in its text.
    private var from: [Int] = [], to: [Int] = []
    /// Each token's number once interned, else -1 (lines).
    private var numbers: [Int32] = []
    /// Each token's key (words): its length and first seven bytes, so that most comparisons
    /// of short words need no hashing and no second look at the bytes.
    private var keys: [UInt64] = []
    private var slots: [Int32] = []
    /// Per number: the first token that had it, and its hash.
    private var owners: [(token: Int, hash: UInt64)] = []
    /// Kept from one load to the next, as are the arrays above: a word pass loads a value once
    /// per conflicting hunk and should not allocate each time.
    private var myers = Myers.Buffers()
    /// Scratch for `uniqueLineMatching`: per line number, all zero between calls.
    private var marks: [UInt8] = []
    private var steps: [LineDiff.Step] = []

    init(cut: Cut) { self.cut = cut }

    /// Cuts three new texts into tokens, forgetting the last ones (and keeping their arrays).
    mutating func load(_ base: UnsafeRawBufferPointer, _ ours: UnsafeRawBufferPointer, _ theirs: UnsafeRawBufferPointer) {
        texts.removeAll(keepingCapacity: true)
        texts.append(base)
        texts.append(ours)
        texts.append(theirs)
        let newTexts = texts
        first.removeAll(keepingCapacity: true)
        from.removeAll(keepingCapacity: true)
        to.removeAll(keepingCapacity: true)
        first.append(0)
        if cut == .words { return loadWords() }
        for t in newTexts {
            ByteTokens.lineEnds(t, into: &to)
            first.append(to.count)
        }
        from.reserveCapacity(to.count)
        for s in newTexts.indices {
            var start = 0
            for i in first[s]..<first[s + 1] { from.append(start); start = to[i] }
        }
        numbers.removeAll(keepingCapacity: true)
        numbers.append(contentsOf: repeatElement(-1, count: to.count))
        owners.removeAll(keepingCapacity: true)
        var size = 64
        while size < to.count { size *= 2 }
        if slots.count == size {
            slots.withUnsafeMutableBufferPointer { $0.update(repeating: -1) }
        } else {
            slots = [Int32](repeating: -1, count: size)
        }
    }

    func count(_ s: Int) -> Int { first[s + 1] - first[s] }
    /// The bytes of tokens `range` of text `s`, which lie next to each other.
    func bytes(_ s: Int, _ range: Range<Int>) -> UnsafeRawBufferPointer {
        guard !range.isEmpty else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: texts[s][from[first[s] + range.lowerBound]..<to[first[s] + range.upperBound - 1]])
    }

    func same(_ s: Int, _ i: Int, _ t: Int, _ j: Int) -> Bool {
        sameToken(first[s] + i, s, first[t] + j, t)
    }

    /// Whether two tokens (flat indices, with their texts) are equal.
    private func sameToken(_ a: Int, _ s: Int, _ b: Int, _ t: Int) -> Bool {
        if cut == .words {
            return keys[a] == keys[b] && (keys[a] >> 56 < 8 || ByteTokens.equal(texts[s], from[a], to[a], texts[t], from[b], to[b]))
        }
        let (x, y) = (numbers[a], numbers[b])
        if x >= 0, y >= 0 { return x == y }
        return ByteTokens.equal(texts[s], from[a], to[a], texts[t], from[b], to[b])
    }

    mutating func script(_ side: Int) -> (prefix: Int, middle: [LineDiff.Step]) {
        steps.removeAll(keepingCapacity: true)
        let n = count(0), m = count(side)
        let (a, b) = (first[0], first[side])
        var prefix = 0
        while prefix < n, prefix < m, sameToken(a + prefix, 0, b + prefix, side) { prefix += 1 }
        var suffix = 0
        while suffix < n - prefix, suffix < m - prefix, sameToken(a + n - 1 - suffix, 0, b + m - 1 - suffix, side) { suffix += 1 }
        if cut == .words {
            keys.withUnsafeBufferPointer { keys in from.withUnsafeBufferPointer { from in to.withUnsafeBufferPointer { to in
                let e = Words(keys: keys, from: from, to: to, a: a, b: b, textA: texts[0], textB: texts[side])
                Myers.middle(e, offset: prefix, n: n - prefix - suffix, m: m - prefix - suffix, buffers: &myers, into: &steps)
            } } }
            return (prefix, steps)
        }
        for i in prefix..<n - suffix { intern(a + i, 0) }
        // Most lines of a side are base lines in order: try the base line after the last one
        // matched before hashing (any equal base line's number is the right number).
        var guess = prefix
        let (baseText, sideText) = (texts[0], texts[side])
        for j in prefix..<m - suffix where numbers[b + j] < 0 {
            if guess < n, numbers[a + guess] >= 0,
               ByteTokens.equal(baseText, from[a + guess], to[a + guess], sideText, from[b + j], to[b + j]) {
                numbers[b + j] = numbers[a + guess]
                guess += 1
                continue
            }
            intern(b + j, side)
            let owner = owners[Int(numbers[b + j])].token
            if owner < first[1] { guess = owner + 1 }
        }
        if uniqueLineMatching(a: a, b: b, from: prefix, n: n - suffix, m: m - suffix) { return (prefix, steps) }
        numbers.withUnsafeBufferPointer { all in
            let e = Numbers(a: UnsafeBufferPointer(rebasing: all[a..<a + n]), b: UnsafeBufferPointer(rebasing: all[b..<b + m]))
            Myers.middle(e, offset: prefix, n: n - prefix - suffix, m: m - prefix - suffix, buffers: &myers, into: &steps)
        }
        return (prefix, steps)
    }

    /// Writes the script of base lines `from..<n` into side lines `from..<m` without a search
    /// when only one longest common subsequence exists and it is plain to see: leave out every
    /// line with no equal line on the other side, and the two sequences left are the same.
    /// Every common subsequence uses only such lines, so one as long as what is left uses all
    /// of it on both sides, in order: the only one. Every shortest script then keeps exactly
    /// these lines and differs from Myers' only in the order of removals and additions between
    /// two kept lines, which hunks do not see. Usual for edits that rewrite lines in place.
    private mutating func uniqueLineMatching(a: Int, b: Int, from: Int, n: Int, m: Int) -> Bool {
        // Bit 1: the number occurs among the base lines; bit 2: among the side's.
        if marks.count < owners.count { marks = [UInt8](repeating: 0, count: owners.count * 2) }
        var out = steps
        steps = []
        defer { steps = out }
        let count = out.count
        let found = numbers.withUnsafeBufferPointer { numbers in marks.withUnsafeMutableBufferPointer { marks in
            for i in from..<n { marks[Int(numbers[a + i])] |= 1 }
            for j in from..<m { marks[Int(numbers[b + j])] |= 2 }
            var (i, j) = (from, from)
            while true {
                while i < n, marks[Int(numbers[a + i])] & 2 == 0 { out.append(.removed(i)); i += 1 }
                while j < m, marks[Int(numbers[b + j])] & 1 == 0 { out.append(.added(j)); j += 1 }
                guard i < n, j < m, numbers[a + i] == numbers[b + j] else { break }
                out.append(.same(i, j))
                i += 1; j += 1
            }
            for k in from..<n { marks[Int(numbers[a + k])] = 0 }
            for k in from..<m { marks[Int(numbers[b + k])] = 0 }
            return i == n && j == m
        } }
        if !found { out.removeSubrange(count...) }
        return found
    }

    private struct Numbers: Equivalence {
        let a: UnsafeBufferPointer<Int32>, b: UnsafeBufferPointer<Int32>
        func same(_ i: Int, _ j: Int) -> Bool { a[i] == b[j] }
    }

    /// Words compared by key, and by bytes only when equal keys leave it open.
    private struct Words: Equivalence {
        let keys: UnsafeBufferPointer<UInt64>, from: UnsafeBufferPointer<Int>, to: UnsafeBufferPointer<Int>
        /// Where the two texts' tokens begin in the flat arrays.
        let a: Int, b: Int
        let textA: UnsafeRawBufferPointer, textB: UnsafeRawBufferPointer
        func same(_ i: Int, _ j: Int) -> Bool {
            let (x, y) = (a + i, b + j)
            guard keys[x] == keys[y] else { return false }
            return keys[x] >> 56 < 8 || ByteTokens.equal(textA, from[x], to[x], textB, from[y], to[y])
        }
    }

    /// Gives a token (of text `s`) the number of the first equal token seen, or a new one.
    private mutating func intern(_ token: Int, _ s: Int) {
        guard numbers[token] < 0 else { return }
        let (lo, hi) = (from[token], to[token])
        let hash = ByteTokens.hash(texts[s], lo, hi)
        if owners.count * 2 >= slots.count { grow() }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 {
            let number = Int(slots[slot]), o = owners[number]
            if o.hash == hash, ByteTokens.equal(texts[text(of: o.token)], from[o.token], to[o.token], texts[s], lo, hi) {
                numbers[token] = Int32(number)
                return
            }
            slot = (slot + 1) & mask
        }
        slots[slot] = Int32(owners.count)
        numbers[token] = Int32(owners.count)
        owners.append((token, hash))
    }

    private func text(of token: Int) -> Int { token < first[1] ? 0 : token < first[2] ? 1 : 2 }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (number, o) in owners.enumerated() {
            var slot = Int(truncatingIfNeeded: o.hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(number)
        }
    }

    // MARK: Bytes

    /// A token's length (up to 255) in the top byte and its first seven bytes below: equal
    /// tokens have equal keys, and tokens shorter than eight bytes with equal keys are equal.
    static func key(_ p: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> UInt64 {
        let length = to - from
        let top = UInt64(min(length, 255)) << 56
        if from + 8 <= p.count {
            let mask: UInt64 = length >= 7 ? 0x00FF_FFFF_FFFF_FFFF : (1 << (8 * UInt64(length))) - 1
            return top | (UInt64(littleEndian: p.loadUnaligned(fromByteOffset: from, as: UInt64.self)) & mask)
        }
        var key = top
        var shift: UInt64 = 0
        for i in from..<min(to, from + 7) {
            key |= UInt64(p[i]) << shift
            shift += 8
        }
        return key
    }

    /// Whether `a[i..<j]` and `b[k..<l]` hold the same bytes, compared eight at a time.
    package static func equal(_ pa: UnsafeRawBufferPointer, _ i: Int, _ j: Int, _ pb: UnsafeRawBufferPointer, _ k: Int, _ l: Int) -> Bool {
        guard j - i == l - k else { return false }
        var (x, y) = (i, k)
        while x + 8 <= j {
            if pa.loadUnaligned(fromByteOffset: x, as: UInt64.self) != pb.loadUnaligned(fromByteOffset: y, as: UInt64.self) { return false }
            x += 8; y += 8
        }
        while x < j {
            if pa[x] != pb[y] { return false }
            x += 1; y += 1
        }
        return true
    }

    /// A 64-bit hash of `bytes[from..<to]`, eight bytes at a time. Only for finding equal
    /// tokens fast: equality is always confirmed on the bytes.
    static func hash(_ p: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> UInt64 {
        do {
            // Two lanes of sixteen bytes, so that the multiplications overlap.
            var (a, b): (UInt64, UInt64) = (0x9E37_79B9_7F4A_7C15 ^ UInt64(to - from), 0xC2B2_AE3D_27D4_EB4F)
            var i = from
            while i + 16 <= to {
                a = (a ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                b = (b ^ p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) &* 0xC4CE_B9FE_1A85_EC53
                a ^= a >> 29
                b ^= b >> 31
                i += 16
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            if i + 8 <= to {
                b ^= p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < to { tail |= UInt64(p[i]) << shift; shift += 8; i += 1 }
            var h = (a ^ tail) &* 0xFF51_AFD7_ED55_8CCD ^ (b &* 0xC4CE_B9FE_1A85_EC53)
            h ^= h >> 32
            return h
        }
    }

    /// The end offsets of the lines of `bytes`, each line with its "\n" (0x0A); a last line
    /// without one is still a line. The C library's memchr finds each line feed (many bytes a
    /// step); elsewhere, eight bytes at a time.
    static func lineEnds(_ p: UnsafeRawBufferPointer, into ends: inout [Int]) {
        let before = ends.count
        ends.reserveCapacity(before + p.count / 32 + 1)
        let n = p.count
        guard let start = p.baseAddress else { return }
        #if canImport(Glibc)
        var i = 0
        while i < n, let hit = memchr(start + i, 0x0A, n - i) {
            i = start.distance(to: UnsafeRawPointer(hit)) + 1
            ends.append(i)
        }
        #else
        var i = 0
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        while i + 8 <= n {
            // Exact per byte: 0x80 where the byte is 0x0A, with no borrow between bytes.
            let x = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ 0x0A0A_0A0A_0A0A_0A0A
            var hits = ~(((x & low7) &+ low7) | x | low7)
            while hits != 0 {
                ends.append(i + hits.trailingZeroBitCount / 8 + 1)
                hits &= hits &- 1
            }
            i += 8
        }
        while i < n {
            if p[i] == 0x0A { ends.append(i + 1) }
            i += 1
        }
        #endif
        if n > 0, ends.count == before || ends.last != n { ends.append(n) }
    }

    /// White space for the word pass: space, tab, line feed, vertical tab, form feed, carriage return.
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// The word tokens of the three texts (maximal runs of white-space bytes and of other
    /// bytes) with their keys, in one pass per text. The arrays are first sized for one token
    /// per byte, the most there can be, then filled through pointers and cut to what was found:
    /// a word pass runs once per conflicting hunk, on a few dozen bytes, so what costs is the
    /// work per token, not the bytes.
    private mutating func loadWords() {
        let most = texts[0].count + texts[1].count + texts[2].count
        keys.removeAll(keepingCapacity: true)
        from.append(contentsOf: repeatElement(0, count: most))
        to.append(contentsOf: repeatElement(0, count: most))
        keys.append(contentsOf: repeatElement(0, count: most))
        let texts = self.texts
        var ends = (0, 0, 0)
        let count = from.withUnsafeMutableBufferPointer { f in to.withUnsafeMutableBufferPointer { t in
            keys.withUnsafeMutableBufferPointer { k in
                var count = 0
                for s in 0..<3 {
                    let p = texts[s]
                    if !p.isEmpty {
                        var start = 0
                        var space = ByteTokens.isSpace(p[0])
                        for i in 1..<p.count where ByteTokens.isSpace(p[i]) != space {
                            f[count] = start; t[count] = i; k[count] = ByteTokens.key(p, start, i)
                            count += 1
                            start = i
                            space.toggle()
                        }
                        f[count] = start; t[count] = p.count; k[count] = ByteTokens.key(p, start, p.count)
                        count += 1
                    }
                    switch s {
                    case 0: ends.0 = count
                    case 1: ends.1 = count
                    default: ends.2 = count
                    }
                }
                return count
            }
        } }
        first.append(ends.0)
        first.append(ends.1)
        first.append(ends.2)
        from.removeSubrange(count...)
        to.removeSubrange(count...)
        keys.removeSubrange(count...)
    }
}
