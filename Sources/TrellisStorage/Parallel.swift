import Dispatch

/// Work spread over the cores for batches whose items are independent (signing, parsing).
package enum Parallel {
    /// `transform` applied to every item, results in item order.
    package static func map<T: Sendable, R>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        guard items.count > 1 else { return items.map(transform) }
        var results = [R?](repeating: nil, count: items.count)
        let chunks = min(items.count, 8)
        results.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                var i = chunk
                while i < items.count {
                    out[i] = transform(items[i])  // each index is written by exactly one chunk
                    i += chunks
                }
            }
        }
        // safe: every index below items.count was written above.
        return results.map { $0! }
    }
}
