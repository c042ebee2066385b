internal import TrellisSodium

/// libsodium must be initialised once before use; `sodium_init` is idempotent and thread-safe.
enum Sodium {
    static let ready: Bool = sodium_init() >= 0

    static func require() throws(CryptoError) {
        guard ready else { throw CryptoError("libsodium failed to initialise") }
    }
}

/// A failure inside the crypto layer. Never carries key material.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// libsodium's headers mark pointers non-null even for zero lengths; an empty array may have no
/// storage, so these hand it a pointer to a dummy byte that is never read.
func withInput<T>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>) -> T) -> T {
    var dummy: UInt8 = 0
    if bytes.isEmpty { return body(&dummy) }
    return bytes.withUnsafeBufferPointer { body($0.baseAddress.unsafelyUnwrapped) }
}

func withOutput<T>(_ bytes: inout [UInt8], _ body: (UnsafeMutablePointer<UInt8>) -> T) -> T {
    precondition(!bytes.isEmpty, "output buffers have fixed non-zero sizes")
    return bytes.withUnsafeMutableBufferPointer { body($0.baseAddress.unsafelyUnwrapped) }
}
