import TrellisCrypto

/// A commit id: the BLAKE2b-256 of the commit's canonical encoding. Held as four big-endian
/// words so that hashing and comparison are cheap and order equals byte order.
public struct CommitID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let size = 32
    /// All zero bytes: a placeholder, never the id of a commit.
    public static let zero = CommitID(w0: 0, w1: 0, w2: 0, w3: 0)
    let w0, w1, w2, w3: UInt64

    private init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    /// The 32 bytes at `offset`, which the caller has checked lie inside `bytes`. Much faster
    /// than the generic initializer: indexes with millions of ids are read this way.
    public init(_ bytes: [UInt8], at offset: Int) {
        precondition(offset >= 0 && offset + Self.size <= bytes.count)  // safe: callers check bounds first
        let w = bytes.withUnsafeBytes { raw in
            (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)))
        }
        (w0, w1, w2, w3) = w
    }

    /// The first byte: what fanout tables bucket by.
    public var firstByte: UInt8 { UInt8(w0 >> 56) }

    /// The first 8 bytes as one big-endian word (what version 2 pack indexes hold): ordered as
    /// the ids are.
    public var prefix: UInt64 { w0 }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.size else { return nil }
        var w: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var n = 0
        for b in bytes {
            switch n >> 3 {
            case 0: w.0 = w.0 << 8 | UInt64(b)
            case 1: w.1 = w.1 << 8 | UInt64(b)
            case 2: w.2 = w.2 << 8 | UInt64(b)
            default: w.3 = w.3 << 8 | UInt64(b)
            }
            n += 1
        }
        (w0, w1, w2, w3) = w
    }

    public init?(hex: String) {
        guard let b = Hex.decode(hex), let id = CommitID(bytes: b) else { return nil }
        self = id
    }

    /// The id of canonical commit bytes.
    public static func of(_ canonical: [UInt8]) -> CommitID {
        let w = canonical.withUnsafeBytes { Blake2b256.words($0) }
        return CommitID(w0: w.0, w1: w.1, w2: w.2, w3: w.3)
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for w in [w0, w1, w2, w3] {
            var shift: UInt64 = 56
            while true {
                out.append(UInt8(truncatingIfNeeded: w >> shift))
                if shift == 0 { break }
                shift -= 8
            }
        }
        return out
    }

    /// Appends the 32 bytes without building an array.
    package func write<W: ByteSink>(to w: inout W) {
        w.u64(w0); w.u64(w1); w.u64(w2); w.u64(w3)
    }

    /// The 32 bytes, lent without allocating.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        let words = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return withUnsafeBytes(of: words, body)
    }

    public var hex: String { Hex.encode(bytes) }
    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }

    /// The first word alone: it is already 64 uniformly distributed bits of BLAKE2b output, and
    /// Hasher's per-process seed still scrambles it, so three more words buy nothing.
    public func hash(into hasher: inout Hasher) { hasher.combine(w0) }

    /// What sets and dictionaries of ids call: two words of the id, each keyed by a per-process
    /// random key, folded by one 128-bit multiply (wyhash's mix) instead of a SipHash run.
    /// Ids are BLAKE2b output, so nobody can aim them at one bucket without knowing the key.
    public func _rawHashValue(seed: Int) -> Int {
        let key = CommitID.hashKey
        let (high, low) = (w0 ^ key.0 ^ UInt64(UInt(bitPattern: seed))).multipliedFullWidth(by: w1 ^ key.1)
        return Int(Int64(bitPattern: high ^ low))
    }

    private static let hashKey: (UInt64, UInt64) = {
        var g = SystemRandomNumberGenerator()
        return (g.next(), g.next() | 1)
    }()

    public static func < (a: CommitID, b: CommitID) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}

extension ByteReader {
    /// The next 32 bytes as a commit id.
    public mutating func commitID() throws(TrellisError) -> CommitID {
        let start = offset
        _ = try raw(CommitID.size)
        return CommitID(bytes, at: start)
    }
}
