import Testing
import TrellisCrypto

@Test func blake2b256KnownVectors() {
    // From the BLAKE2 reference (b2sum -l 256).
    #expect(Hex.encode(Blake2b256.hash([])) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
    #expect(Hex.encode(Blake2b256.hash(Array("abc".utf8))) == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
}

@Test func ed25519SignsAndRejectsTampering() throws {
    // RFC 8032 test 1: the public key of the all-zeros-but-seed vector.
    let key = try SigningKey(seed: Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!)
    #expect(Hex.encode(key.publicKey.bytes) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    let sig = key.sign([])
    #expect(Hex.encode(sig).hasPrefix("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
    #expect(key.publicKey.isValidSignature(sig, for: []))
    #expect(!key.publicKey.isValidSignature(sig, for: [1]))
    var bad = sig
    bad[0] ^= 1
    #expect(!key.publicKey.isValidSignature(bad, for: []))
    #expect(!key.publicKey.isValidSignature(Array(sig.prefix(10)), for: []))
    #expect(!key.description.contains(Hex.encode(key.seed)))
}

@Test func hexRejectsMalformedText() {
    #expect(Hex.decode("abc") == nil)
    #expect(Hex.decode("zz") == nil)
    #expect(Hex.decode("00Ff") == [0, 255])
}

@Test func publicKeysPrintAsHex() throws {
    let key = try SigningKey(seed: [UInt8](repeating: 1, count: 32)).publicKey
    #expect("\(key)" == Hex.encode(key.bytes))
    #expect("\(key)".count == 64)
}
