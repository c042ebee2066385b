internal import TrellisSodium

/// BLAKE2b with a 32-byte digest (libsodium's `crypto_generichash`, no key).
package enum Blake2b256 {
    package static let digestSize = 32

    package static func hash(_ bytes: [UInt8]) -> [UInt8] { hash(bytes[...]) }

    /// A slice without copying it (a file's body, to check its trailer).
    package static func hash(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        let w = bytes.withUnsafeBytes { words($0) }
        return withUnsafeBytes(of: (w.0.bigEndian, w.1.bigEndian, w.2.bigEndian, w.3.bigEndian)) { Array($0) }
    }

    /// The digest of `bytes` as four big-endian words, without allocating: what commit ids hold.
    package static func words(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64, UInt64, UInt64) {
        _ = Sodium.ready  // hashing needs no randomness, so an init failure does not matter here
        var out: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let rc = withUnsafeMutableBytes(of: &out) { o in
            crypto_generichash(o.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self), digestSize,
                               bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count), nil, 0)
        }
        precondition(rc == 0, "crypto_generichash rejected constant sizes")  // safe: constant sizes
        return (UInt64(bigEndian: out.0), UInt64(bigEndian: out.1), UInt64(bigEndian: out.2), UInt64(bigEndian: out.3))
    }
}

/// BLAKE2b with a 16-byte digest keyed by a 16-byte salt: the Bloom filter hash of
/// docs/sync.md §Filters. Returns the digest as two big-endian words.
package struct SaltedHash: Sendable {
    package static let saltSize = 16
    package let salt: [UInt8]

    package init(salt: [UInt8]) throws(CryptoError) {
        guard salt.count == Self.saltSize else { throw CryptoError("a filter salt has 16 bytes, got \(salt.count)") }
        self.salt = salt
    }

    package func words(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        _ = Sodium.ready
        var out = (UInt64(0), UInt64(0))
        let rc = withUnsafeMutableBytes(of: &out) { o in
            salt.withUnsafeBufferPointer { key in
                crypto_generichash(o.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self), 16,
                                   bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count),
                                   key.baseAddress, 16)
            }
        }
        // Sizes are constants inside libsodium's ranges (16-byte digest, 16-byte key).
        precondition(rc == 0, "crypto_generichash rejected constant sizes")  // safe: constant sizes
        return (UInt64(bigEndian: out.0), UInt64(bigEndian: out.1))
    }
}

/// Cryptographically secure random bytes from libsodium.
package enum SecureRandom {
    package static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        try Sodium.require()
        guard count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        withOutput(&out) { randombytes_buf($0, count) }
        return out
    }
}
