import TrellisCrypto

/// A commit id: the BLAKE2b-256 of the commit's canonical encoding. Held as four big-endian
/// words so that hashing and comparison are cheap and order equals byte order.
public struct CommitID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let size = 32
    let w0, w1, w2, w3: UInt64

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.size else { return nil }
        var words = [UInt64](repeating: 0, count: 4)
        for (n, b) in bytes.enumerated() { words[n / 8] = words[n / 8] << 8 | UInt64(b) }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    public init?(hex: String) {
        guard let b = Hex.decode(hex), let id = CommitID(bytes: b) else { return nil }
        self = id
    }

    /// The id of canonical commit bytes.
    public static func of(_ canonical: [UInt8]) -> CommitID {
        // safe: BLAKE2b-256 always yields 32 bytes.
        CommitID(bytes: Blake2b256.hash(canonical))!
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for w in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w >> UInt64(shift))) }
        }
        return out
    }

    public var hex: String { Hex.encode(bytes) }
    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }

    public static func < (a: CommitID, b: CommitID) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}
