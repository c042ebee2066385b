import Foundation

/// A value behind a lock, reached only through `withLock`: shaped like `Synchronization.Mutex`,
/// but on a pthread mutex (`NSLock`). ThreadSanitizer on Linux does not see the ordering that
/// `Synchronization.Mutex` gives (it waits with raw futex calls), so it reported every access it
/// guards as a race; it sees this one, and `scripts/tsan.sh` stays meaningful. A lock over a
/// region with no value of its own is a plain `NSLock`: ThreadSanitizer misreads a `Locked<Void>`
/// (its zero-sized value) as racing.
///
/// `@unchecked Sendable`: the value is read and written only inside `withLock`, under the lock.
package final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    package func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
