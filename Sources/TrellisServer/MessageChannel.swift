import TrellisStorage
import Foundation
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import TrellisCore
import TrellisSync
import TrellisClient

/// A token bucket: `rate` events a second on average, bursts of up to `burst`.
struct RateLimit {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: Date

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        last = Date()
    }

    /// Takes one token; false when none is left.
    mutating func allow(now: Date = Date()) -> Bool {
        tokens = min(burst, tokens + now.timeIntervalSince(last) * rate)
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}


/// Messages waiting to be written to one connection. One writer task drains it, so the frames of
/// two messages never interleave. Pushes are dropped, and the connection marked slow, once more
/// than `maxPending` bytes wait.
///
/// What it counts is in a `Locked` box; the stream's continuation may be used from any task.
final class Outbox: Sendable {
    enum Item {
        case message([UInt8])
        case close(WebSocketErrorCode, String)
    }

    let items: AsyncStream<Item>
    private let continuation: AsyncStream<Item>.Continuation
    private struct Counts {
        var pending = 0
        var overflowed = false
    }
    private let counts = Locked(Counts())
    let maxPending: Int
    var overflowed: Bool { counts.withLock { $0.overflowed } }

    init(maxPending: Int) {
        (items, continuation) = AsyncStream.makeStream(of: Item.self)
        self.maxPending = maxPending
    }

    /// Queues a reply; replies are never dropped (a session has one in flight at a time).
    func send(_ bytes: [UInt8]) {
        counts.withLock { $0.pending += bytes.count }
        continuation.yield(.message(bytes))
    }

    /// Queues a push; false, and nothing queued, when the peer is too far behind.
    func push(_ bytes: [UInt8]) -> Bool {
        let ok = counts.withLock { c in
            // One message may exceed the limit when nothing else waits.
            guard !c.overflowed, c.pending == 0 || c.pending + bytes.count <= maxPending else {
                c.overflowed = true
                return false
            }
            c.pending += bytes.count
            return true
        }
        if ok { continuation.yield(.message(bytes)) }
        return ok
    }

    func close(_ code: WebSocketErrorCode, _ reason: String) {
        continuation.yield(.close(code, reason))
        continuation.finish()
    }

    func finish() { continuation.finish() }

    /// Writes queued items until the stream ends or a close is written.
    func drain(to outbound: WebSocketOutboundWriter) async throws {
        for await item in items {
            switch item {
            case .message(let bytes):
                try await outbound.writeBinaryMessage(ByteBuffer(bytes: bytes))
                counts.withLock { $0.pending -= bytes.count }
            case .close(let code, let reason):
                try await outbound.close(code, reason: String(reason.utf8.prefix(120)) ?? "")
                return
            }
        }
    }
}
