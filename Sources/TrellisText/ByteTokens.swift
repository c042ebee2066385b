/// Three byte strings cut into tokens (lines, or words), the input of a text merge. Tokens are
/// compared as bytes; those that Myers' algorithm will compare are first numbered by an
/// interning table, so that the search compares integers (equal bytes, equal numbers). The
/// bytes are borrowed: a value lives only inside the call that lends them.
package struct ByteTokens: MergeInput {
    let texts: [UnsafeRawBufferPointer]
    /// Where each text's tokens begin in the flat arrays below; the last entry is their count.
    private let first: [Int]
    /// Each token's byte range in its text.
    private let from: [Int], to: [Int]
    /// Each token's number once interned, else -1.
    private var numbers: [Int32]
    private var slots: [Int32]
    /// Per number: the first token that had it, and its hash.
    private var owners: [(token: Int, hash: UInt64)] = []

    /// `cut` gives the end offset of each token of a text.
    init(texts: [UnsafeRawBufferPointer], cut: (UnsafeRawBufferPointer) -> [Int]) {
        self.texts = texts
        let ends = texts.map(cut)
        var first = [0], from: [Int] = [], to: [Int] = []
        from.reserveCapacity(ends.reduce(0) { $0 + $1.count })
        to.reserveCapacity(from.capacity)
        for e in ends {
            var start = 0
            for end in e { from.append(start); to.append(end); start = end }
            first.append(to.count)
        }
        (self.first, self.from, self.to) = (first, from, to)
        numbers = [Int32](repeating: -1, count: to.count)
        var size = 64
        while size < to.count { size *= 2 }
        slots = [Int32](repeating: -1, count: size)
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
        let (x, y) = (numbers[a], numbers[b])
        if x >= 0, y >= 0 { return x == y }
        return ByteTokens.equal(texts[s], from[a], to[a], texts[t], from[b], to[b])
    }

    mutating func script(_ side: Int) -> (prefix: Int, middle: [LineDiff.Step]) {
        let n = count(0), m = count(side)
        let (a, b) = (first[0], first[side])
        var prefix = 0
        while prefix < n, prefix < m, sameToken(a + prefix, 0, b + prefix, side) { prefix += 1 }
        var suffix = 0
        while suffix < n - prefix, suffix < m - prefix, sameToken(a + n - 1 - suffix, 0, b + m - 1 - suffix, side) { suffix += 1 }
        for i in prefix..<n - suffix { intern(a + i, 0) }
        // Most lines of a side are base lines in order: try the base line after the last one
        // matched before hashing (any equal base line's number is the right number).
        var guess = prefix
        for j in prefix..<m - suffix where numbers[b + j] < 0 {
            if guess < n, numbers[a + guess] >= 0,
               ByteTokens.equal(texts[0], from[a + guess], to[a + guess], texts[side], from[b + j], to[b + j]) {
                numbers[b + j] = numbers[a + guess]
                guess += 1
                continue
            }
            intern(b + j, side)
            let owner = owners[Int(numbers[b + j])].token
            if owner < first[1] { guess = owner + 1 }
        }
        return numbers.withUnsafeBufferPointer { all in
            let e = Numbers(a: UnsafeBufferPointer(rebasing: all[a..<a + n]), b: UnsafeBufferPointer(rebasing: all[b..<b + m]))
            return (prefix, Myers.middle(e, offset: prefix, n: n - prefix - suffix, m: m - prefix - suffix))
        }
    }

    private struct Numbers: Equivalence {
        let a: UnsafeBufferPointer<Int32>, b: UnsafeBufferPointer<Int32>
        func same(_ i: Int, _ j: Int) -> Bool { a[i] == b[j] }
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
    /// without one is still a line. Finds line feeds eight bytes at a time.
    static func lineEnds(_ p: UnsafeRawBufferPointer) -> [Int] {
        var ends: [Int] = []
        ends.reserveCapacity(p.count / 32 + 1)
        do {
            let n = p.count
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
            if n > 0, ends.last != n { ends.append(n) }
        }
        return ends
    }

    /// White space for the word pass: space, tab, line feed, vertical tab, form feed, carriage return.
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// The end offsets of the maximal runs of white-space bytes and of other bytes.
    static func wordEnds(_ bytes: UnsafeRawBufferPointer) -> [Int] {
        var ends: [Int] = []
        for i in bytes.indices.dropFirst() where isSpace(bytes[i]) != isSpace(bytes[i - 1]) { ends.append(i) }
        if !bytes.isEmpty { ends.append(bytes.count) }
        return ends
    }
}
