import TrellisCore
import TrellisCrypto

/// A salted Bloom filter of commit ids (docs/sync.md §Filters). The salt keys the hash, so
/// each filter's false positives are its own.
package struct BloomFilter: Sendable, Equatable {
    package static let defaultBitsPerEntry = 10
    package static let defaultHashCount = 7
    package static let maxEntries = 1 << 24
    package static let maxBits = 1 << 27

    package let count: Int
    package let salt: [UInt8]
    package let hashCount: Int
    package let bitCount: Int
    package private(set) var bits: [UInt8]

    /// A filter holding `ids`, with a fresh random salt.
    package init(_ ids: some Collection<CommitID>, bitsPerEntry: Int = defaultBitsPerEntry,
                hashCount: Int = defaultHashCount) throws(TrellisError) {
        guard ids.count <= Self.maxEntries else {
            throw TrellisError(.invalidArgument, "a filter holds at most \(Self.maxEntries) ids, not \(ids.count)")
        }
        count = ids.count
        self.hashCount = hashCount
        guard count > 0 else {
            salt = []
            bitCount = 0
            bits = []
            return
        }
        do { salt = try SecureRandom.bytes(SaltedHash.saltSize) } catch {
            throw TrellisError(.io, "no randomness for a filter salt: \(error.message)")
        }
        bitCount = max(8, (count * bitsPerEntry + 7) / 8 * 8)
        bits = [UInt8](repeating: 0, count: bitCount / 8)
        let hash = try Self.hasher(salt)
        for id in ids {
            forEachPosition(of: id, hash) { bits[$0 >> 3] |= 1 << UInt8($0 & 7) }
        }
    }

    private init(count: Int, salt: [UInt8], hashCount: Int, bitCount: Int, bits: [UInt8]) {
        (self.count, self.salt, self.hashCount, self.bitCount, self.bits) = (count, salt, hashCount, bitCount, bits)
    }

    private static func hasher(_ salt: [UInt8]) throws(TrellisError) -> SaltedHash {
        do { return try SaltedHash(salt: salt) } catch { throw TrellisError(.corruptData, error.message) }
    }

    private func forEachPosition(of id: CommitID, _ hash: SaltedHash, _ body: (Int) -> Void) {
        let (h1, h2) = id.withBytes { hash.words($0) }
        let step = h2 | 1
        var h = h1
        let m = UInt64(bitCount)
        for _ in 0..<hashCount {
            body(Int(h % m))
            h &+= step
        }
    }

    /// Tests many ids with one hasher.
    package func membership() -> (CommitID) -> Bool {
        guard count > 0, let hash = try? Self.hasher(salt) else { return { _ in false } }
        return { id in
            var all = true
            forEachPosition(of: id, hash) { if bits[$0 >> 3] & (1 << UInt8($0 & 7)) == 0 { all = false } }
            return all
        }
    }

    package func contains(_ id: CommitID) -> Bool { membership()(id) }

    package func write(to w: inout ByteWriter) {
        w.varint(UInt64(count))
        guard count > 0 else { return }
        w.raw(salt)
        w.u8(UInt8(hashCount))
        w.varint(UInt64(bitCount))
        w.raw(bits)
    }

    /// Reads a filter, refusing parameters outside docs/sync.md §Filters before allocating.
    package static func read(from r: inout ByteReader) throws(TrellisError) -> BloomFilter {
        let n = try r.varint()
        guard n <= UInt64(maxEntries) else { throw TrellisError(.corruptData, "filter claims \(n) entries; the limit is \(maxEntries)") }
        guard n > 0 else { return BloomFilter(count: 0, salt: [], hashCount: defaultHashCount, bitCount: 0, bits: []) }
        let salt = Array(try r.raw(SaltedHash.saltSize))
        let k = Int(try r.u8())
        guard (1...32).contains(k) else { throw TrellisError(.corruptData, "filter has \(k) hash functions; 1 to 32 are allowed") }
        let m = try r.varint()
        guard m >= 8, m <= UInt64(maxBits), m <= 64 * n + 1024 else {
            throw TrellisError(.corruptData, "filter has \(m) bits for \(n) entries; out of range")
        }
        let byteCount = Int((m + 7) / 8)
        guard r.remaining >= byteCount else { throw TrellisError(.corruptData, "filter bits are truncated") }
        return BloomFilter(count: Int(n), salt: salt, hashCount: k, bitCount: Int(m), bits: Array(try r.raw(byteCount)))
    }
}
