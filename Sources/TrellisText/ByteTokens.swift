/// Three byte strings cut into tokens (lines, or words), the input of a text merge. Tokens are
/// compared as bytes; those that Myers' algorithm will compare are first numbered by an
/// interning table, so that the search compares integers (equal bytes, equal numbers).
struct ByteTokens: MergeInput {
    let texts: [[UInt8]]
    /// Each token's end offset, per text; a token starts where the one before it ends.
    let ends: [[Int]]
    /// Each token's number once interned, else -1.
    private var numbers: [[Int32]]
    private var slots: [Int32]
    private var owners: [(text: Int, token: Int, hash: UInt64)] = []

    init(texts: [[UInt8]], ends: [[Int]]) {
        (self.texts, self.ends) = (texts, ends)
        numbers = ends.map { [Int32](repeating: -1, count: $0.count) }
        slots = [Int32](repeating: -1, count: 64)
    }

    func count(_ s: Int) -> Int { ends[s].count }
    func start(_ s: Int, _ i: Int) -> Int { i == 0 ? 0 : ends[s][i - 1] }
    /// The bytes of tokens `range` of text `s`, which lie next to each other.
    func bytes(_ s: Int, _ range: Range<Int>) -> ArraySlice<UInt8> {
        range.isEmpty ? [] : texts[s][start(s, range.lowerBound)..<ends[s][range.upperBound - 1]]
    }

    func same(_ s: Int, _ i: Int, _ t: Int, _ j: Int) -> Bool {
        let (x, y) = (numbers[s][i], numbers[t][j])
        if x >= 0, y >= 0 { return x == y }
        return ByteTokens.equal(texts[s], start(s, i), ends[s][i], texts[t], start(t, j), ends[t][j])
    }

    mutating func script(_ side: Int) -> (prefix: Int, middle: [LineDiff.Step]) {
        let n = count(0), m = count(side)
        var prefix = 0
        while prefix < n, prefix < m, same(0, prefix, side, prefix) { prefix += 1 }
        var suffix = 0
        while suffix < n - prefix, suffix < m - prefix, same(0, n - 1 - suffix, side, m - 1 - suffix) { suffix += 1 }
        for i in prefix..<n - suffix { intern(0, i) }
        for j in prefix..<m - suffix { intern(side, j) }
        let e = Numbers(a: numbers[0], b: numbers[side])
        return (prefix, Myers.middle(e, offset: prefix, n: n - prefix - suffix, m: m - prefix - suffix))
    }

    private struct Numbers: Equivalence {
        let a: [Int32], b: [Int32]
        func same(_ i: Int, _ j: Int) -> Bool { a[i] == b[j] }
    }

    /// Gives token `i` of text `s` the number of the first equal token seen, or a new one.
    private mutating func intern(_ s: Int, _ i: Int) {
        guard numbers[s][i] < 0 else { return }
        let (from, to) = (start(s, i), ends[s][i])
        let hash = ByteTokens.hash(texts[s], from, to)
        if owners.count * 2 >= slots.count { grow() }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 {
            let number = Int(slots[slot]), o = owners[number]
            if o.hash == hash, ByteTokens.equal(texts[o.text], start(o.text, o.token), ends[o.text][o.token], texts[s], from, to) {
                numbers[s][i] = Int32(number)
                return
            }
            slot = (slot + 1) & mask
        }
        slots[slot] = Int32(owners.count)
        numbers[s][i] = Int32(owners.count)
        owners.append((s, i, hash))
    }

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
    static func equal(_ a: [UInt8], _ i: Int, _ j: Int, _ b: [UInt8], _ k: Int, _ l: Int) -> Bool {
        guard j - i == l - k else { return false }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
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
        }
    }

    /// A 64-bit hash of `bytes[from..<to]`, eight bytes at a time. Only for finding equal
    /// tokens fast: equality is always confirmed on the bytes.
    static func hash(_ bytes: [UInt8], _ from: Int, _ to: Int) -> UInt64 {
        bytes.withUnsafeBytes { p in
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(to - from)
            var i = from
            while i + 8 <= to {
                h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h >> 29
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < to { tail |= UInt64(p[i]) << shift; shift += 8; i += 1 }
            h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
            return h ^ (h >> 32)
        }
    }

    /// The end offsets of the lines of `bytes`, each line with its "\n" (0x0A); a last line
    /// without one is still a line. Finds line feeds eight bytes at a time.
    static func lineEnds(_ bytes: [UInt8]) -> [Int] {
        var ends: [Int] = []
        ends.reserveCapacity(bytes.count / 32 + 1)
        bytes.withUnsafeBytes { p in
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
    static func wordEnds(_ bytes: [UInt8]) -> [Int] {
        var ends: [Int] = []
        for i in bytes.indices.dropFirst() where isSpace(bytes[i]) != isSpace(bytes[i - 1]) { ends.append(i) }
        if !bytes.isEmpty { ends.append(bytes.count) }
        return ends
    }
}
