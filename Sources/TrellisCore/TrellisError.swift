/// The one error type of the engine: a stable code for programs, a message for people.
/// Messages never contain record payloads or key material.
public struct TrellisError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case invalidJSON = "invalid-json"
        case invalidValue = "invalid-value"
        case invalidArgument = "invalid-argument"
        case corruptData = "corrupt-data"
        case notFound = "not-found"
        case storeMissing = "store-missing"
        case storeLocked = "store-locked"
        case io = "io"
        case badSignature = "bad-signature"
        case conflict = "conflict"
        case permissionDenied = "permission-denied"
        case network = "network"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
