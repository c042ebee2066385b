internal import TrellisSodium

/// BLAKE2b with a 32-byte digest (libsodium's `crypto_generichash`, no key).
public enum Blake2b256 {
    public static let digestSize = 32

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        _ = Sodium.ready  // hashing needs no randomness, so an init failure does not matter here
        var out = [UInt8](repeating: 0, count: digestSize)
        let rc = withOutput(&out) { o in
            withInput(bytes) { i in crypto_generichash(o, digestSize, i, UInt64(bytes.count), nil, 0) }
        }
        // crypto_generichash only fails for out-of-range sizes, which are constants here.
        precondition(rc == 0, "crypto_generichash rejected constant sizes")
        return out
    }
}
