import Foundation
import Synchronization
import TrellisCore

// What both engines need alike: observers of their writes, the guard against a write closure
// calling back into its own engine, and the parsing of commit id prefixes.

/// The observers of an engine's writes (local change streams), behind a lock of their own so
/// that registering or notifying never waits for the engine's.
final class CommitObservers: Sendable {
    private let observers = Locked<[UInt64: @Sendable (Set<String>) -> Void]>([:])
    private let nextToken = Atomic<UInt64>(0)

    func add(_ observer: @escaping @Sendable (Set<String>) -> Void) -> UInt64 {
        let token = nextToken.add(1, ordering: .relaxed).newValue
        observers.withLock { $0[token] = observer }
        return token
    }

    func remove(_ token: UInt64) {
        _ = observers.withLock { $0.removeValue(forKey: token) }
    }

    /// Calls every observer with the repositories a write changed (none when it changed none).
    func notify(_ repositories: Set<String>) {
        guard !repositories.isEmpty else { return }
        for observer in observers.withLock({ Array($0.values) }) { observer(repositories) }
    }
}

/// Marks the thread running an engine's write, so that a write closure calling back into the
/// same engine (which would wait for itself forever) stops with a clear message instead.
enum WriteReentry {
    private static let key = "org.trellis.engine-writing"

    static func refuse(_ engine: AnyObject, _ what: String) {
        if let writing = Thread.current.threadDictionary[key] as? UInt, writing == UInt(bitPattern: ObjectIdentifier(engine)) {
            preconditionFailure("Trellis: a write closure called back into its store (\(what)); read what you need before writing, or use the document the closure is given")
        }
    }

    /// Runs `body` with this thread marked as running `engine`'s write.
    static func marking<T, E: Error>(_ engine: AnyObject, _ body: () throws(E) -> T) throws(E) -> T {
        Thread.current.threadDictionary[key] = UInt(bitPattern: ObjectIdentifier(engine))
        defer { Thread.current.threadDictionary[key] = nil }
        return try body()
    }
}

extension CommitID {
    /// The lower-case hex of a full id or of a prefix of at least 4 digits, as git accepts.
    static func hexPrefix(_ text: String) throws(TrellisError) -> String {
        let hex = text.lowercased()
        guard hex.count >= 4, hex.count <= 64, hex.allSatisfy(\.isHexDigit) else {
            throw TrellisError(.invalidArgument, "'\(text)' is not a commit id (4 to 64 hex digits)")
        }
        return hex
    }

    /// The one id among `found` that a prefix matched.
    static func unique(_ found: [CommitID], prefix text: String) throws(TrellisError) -> CommitID {
        guard found.count <= 1 else { throw TrellisError(.invalidArgument, "commit prefix '\(text)' is ambiguous") }
        guard let id = found.first else { throw TrellisError(.notFound, "unknown commit \(text)") }
        return id
    }
}
