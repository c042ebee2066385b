import Foundation
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import TrellisCore
import TrellisSync

/// Bytes of inbound messages being assembled across every connection of a server, so many
/// large messages at once cannot exhaust memory, and no one client can take it all: each owner
/// (a client key, or an address before authentication) holds at most `perOwner` bytes across
/// its connections (docs/server.md §Limits).
final class MemoryBudget: @unchecked Sendable {  // safe: every field is behind `lock`
    let limit: Int
    let perOwner: Int
    private var used = 0
    private var byOwner: [String: Int] = [:]
    private let lock = NSLock()

    init(limit: Int, perOwner: Int? = nil) {
        self.limit = limit
        self.perOwner = perOwner ?? limit
    }

    enum Refusal { case server, owner }

    /// Reserves `bytes` for `owner`, or says whose limit it would pass.
    func reserve(_ bytes: Int, for owner: String) -> Refusal? {
        lock.withLock {
            let held = byOwner[owner] ?? 0
            guard held + bytes <= perOwner else { return .owner }
            guard used + bytes <= limit else { return .server }
            used += bytes
            byOwner[owner] = held + bytes
            return nil
        }
    }

    func release(_ bytes: Int, for owner: String) {
        guard bytes > 0 else { return }
        lock.withLock {
            used -= bytes
            let left = (byOwner[owner] ?? 0) - bytes
            byOwner[owner] = left > 0 ? left : nil
        }
    }

    var inUse: Int { lock.withLock { used } }
    func inUse(by owner: String) -> Int { lock.withLock { byOwner[owner] ?? 0 } }
}

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

/// Reads whole binary messages from WebSocket frames: text frames, bad fragmentation and
/// messages over the limit are errors, and every byte held is reserved from a budget first.
struct MessageReader {
    private var frames: WebSocketInboundStream.AsyncIterator
    var maxMessageBytes: Int
    let budget: MemoryBudget?
    /// Whose share of the budget the bytes count against; changes only while nothing is held.
    var owner: String {
        willSet { precondition(held == 0, "a message reader changed owner while holding bytes") }
    }
    /// Bytes of the last message returned, still reserved until `release()`.
    private var held = 0

    init(_ inbound: WebSocketInboundStream, maxMessageBytes: Int, budget: MemoryBudget?, owner: String = "") {
        frames = inbound.makeAsyncIterator()
        self.maxMessageBytes = maxMessageBytes
        self.budget = budget
        self.owner = owner
    }

    /// The next message, or nil when the peer closed the connection.
    mutating func next() async throws(TrellisError) -> [UInt8]? {
        release()
        var message: [UInt8] = []
        while true {
            let frame: WebSocketDataFrame?
            do { frame = try await frames.next() } catch {
                throw TrellisError(.network, "the connection failed: \(error)")
            }
            guard let frame else {
                return nil
            }
            switch frame.opcode {
            case .text: throw TrellisError(.invalidArgument, "text messages are not part of the protocol; send binary messages")
            case .binary where !message.isEmpty, .continuation where message.isEmpty && held == 0:
                throw TrellisError(.invalidArgument, "bad WebSocket fragmentation")
            default: break
            }
            let size = frame.data.readableBytes
            guard message.count + size <= maxMessageBytes else {
                throw TrellisError(.invalidArgument, "a message exceeds the limit of \(maxMessageBytes) bytes")
            }
            if let budget {
                switch budget.reserve(size, for: owner) {
                case .server?: throw TrellisError(.invalidArgument, "the server is out of memory for messages; try again later")
                case .owner?:
                    throw TrellisError(.invalidArgument,
                        "this client holds \(budget.perOwner) bytes of unfinished messages across its connections, its limit; finish one first")
                case nil: held += size
                }
            }
            message += frame.data.readableBytesView
            if frame.fin {
                guard !message.isEmpty else { throw TrellisError(.invalidArgument, "an empty message") }
                return message
            }
        }
    }

    /// Returns the last message's bytes to the budget.
    mutating func release() {
        budget?.release(held, for: owner)
        held = 0
    }
}

/// Messages waiting to be written to one connection. One writer task drains it, so the frames of
/// two messages never interleave. Pushes are dropped, and the connection marked slow, once more
/// than `maxPending` bytes wait.
///
/// `@unchecked Sendable`: `pending` and `overflowed` are behind `lock`, and the stream's
/// continuation may be used from any task.
final class Outbox: @unchecked Sendable {
    enum Item {
        case message([UInt8])
        case close(WebSocketErrorCode, String)
    }

    let items: AsyncStream<Item>
    private let continuation: AsyncStream<Item>.Continuation
    private let lock = NSLock()
    private var pending = 0
    let maxPending: Int
    private(set) var overflowed = false

    init(maxPending: Int) {
        (items, continuation) = AsyncStream.makeStream(of: Item.self)
        self.maxPending = maxPending
    }

    /// Queues a reply; replies are never dropped (a session has one in flight at a time).
    func send(_ bytes: [UInt8]) {
        lock.withLock { pending += bytes.count }
        continuation.yield(.message(bytes))
    }

    /// Queues a push; false, and nothing queued, when the peer is too far behind.
    func push(_ bytes: [UInt8]) -> Bool {
        let ok = lock.withLock {
            // One message may exceed the limit when nothing else waits.
            guard !overflowed, pending == 0 || pending + bytes.count <= maxPending else {
                overflowed = true
                return false
            }
            pending += bytes.count
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
                lock.withLock { pending -= bytes.count }
            case .close(let code, let reason):
                try await outbound.close(code, reason: String(reason.utf8.prefix(120)) ?? "")
                return
            }
        }
    }
}
