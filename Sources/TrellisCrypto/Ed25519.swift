internal import TrellisSodium

/// An Ed25519 public key (32 bytes).
public struct PublicKey: Hashable, Sendable, CustomStringConvertible {
    public static let size = 32
    public let bytes: [UInt8]

    /// The key as 64 lowercase hex digits, as `trellis identity` and access lists write it.
    public var description: String { Hex.encode(bytes) }

    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.size else {
            throw CryptoError("an Ed25519 public key has 32 bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// True when `signature` is a valid Ed25519 signature of `message` by this key.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == Signature.size, Sodium.ready else { return false }
        let rc = withInput(signature) { s in
            withInput(message) { m in
                withInput(bytes) { k in crypto_sign_verify_detached(s, m, UInt64(message.count), k) }
            }
        }
        return rc == 0
    }
}

public enum Signature {
    public static let size = 64
}

/// An Ed25519 signing key. Holds the 32-byte seed; `description` never shows it.
package struct SigningKey: Sendable, CustomStringConvertible {
    package static let seedSize = 32
    package let seed: [UInt8]
    package let publicKey: PublicKey
    private let secretKey: [UInt8]  // libsodium's 64-byte form: seed || package key

    /// A new random key.
    package static func generate() throws(CryptoError) -> SigningKey {
        try Sodium.require()
        var seed = [UInt8](repeating: 0, count: seedSize)
        withOutput(&seed) { randombytes_buf($0, seedSize) }
        return try SigningKey(seed: seed)
    }

    package init(seed: [UInt8]) throws(CryptoError) {
        try Sodium.require()
        guard seed.count == Self.seedSize else {
            throw CryptoError("an Ed25519 seed has 32 bytes, got \(seed.count)")
        }
        var pk = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        var sk = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        let rc = withInput(seed) { s in
            withOutput(&pk) { p in withOutput(&sk) { k in crypto_sign_seed_keypair(p, k, s) } }
        }
        guard rc == 0 else { throw CryptoError("crypto_sign_seed_keypair failed") }
        self.seed = seed
        self.secretKey = sk
        self.publicKey = try PublicKey(bytes: pk)
    }

    /// The detached 64-byte signature of `message`.
    package func sign(_ message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: Signature.size)
        let rc = withOutput(&sig) { s in
            withInput(message) { m in
                withInput(secretKey) { k in crypto_sign_detached(s, nil, m, UInt64(message.count), k) }
            }
        }
        // crypto_sign_detached has no failure path for a well-formed 64-byte secret key.
        precondition(rc == 0, "crypto_sign_detached failed")
        return sig
    }

    package var description: String { "SigningKey(public: \(Hex.encode(publicKey.bytes)))" }
}
