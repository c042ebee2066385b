/// The one error type of the engine: a stable code for programs, a message for people, and,
/// when an operating-system call or a damaged file caused it, that cause. Messages never
/// contain record payloads or key material.
public struct TrellisError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A stable code. New codes may come in any release without breaking clients, so a `switch`
    /// over codes needs a `default` (it is a struct of constants, not an enum).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidJSON = Code(rawValue: "invalid-json")
        public static let invalidValue = Code(rawValue: "invalid-value")
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        public static let corruptData = Code(rawValue: "corrupt-data")
        public static let notFound = Code(rawValue: "not-found")
        public static let storeMissing = Code(rawValue: "store-missing")
        public static let storeLocked = Code(rawValue: "store-locked")
        public static let io = Code(rawValue: "io")
        public static let badSignature = Code(rawValue: "bad-signature")
        public static let conflict = Code(rawValue: "conflict")
        public static let permissionDenied = Code(rawValue: "permission-denied")
        public static let network = Code(rawValue: "network")
        /// A write that would change nothing, refused so that no empty commit is written.
        public static let unchanged = Code(rawValue: "unchanged")
    }

    /// What underlies an error: the `errno` of a failed system call, the file concerned, and the
    /// byte offset in it where damage was found. Each is nil when it does not apply.
    public struct Cause: Sendable, Equatable {
        public var errno: Int32?
        public var path: String?
        public var offset: UInt64?

        public init(errno: Int32? = nil, path: String? = nil, offset: UInt64? = nil) {
            (self.errno, self.path, self.offset) = (errno, path, offset)
        }
    }

    public let code: Code
    public let message: String
    public let cause: Cause?

    public init(_ code: Code, _ message: String, cause: Cause? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    /// The same error with `message` put before its own (`"context: message"`); code and cause kept.
    public func adding(context: String) -> TrellisError {
        TrellisError(code, context + ": " + message, cause: cause)
    }
}
