import TrellisStorage
import Foundation
import HummingbirdWSClient
import NIOCore
import NIOWebSocket
import TrellisCore
import TrellisSync

/// Bytes of inbound messages being assembled across every connection of a server, so many
/// large messages at once cannot exhaust memory, and no one client can take it all: each owner
/// (a client key, or an address before authentication) holds at most `perOwner` bytes across
/// its connections (docs/server.md §Limits).
package final class MemoryBudget: Sendable {
    package let limit: Int
    package let perOwner: Int
    private struct Use {
        var total = 0
        var byOwner: [String: Int] = [:]
    }
    private let use = Locked(Use())

    package init(limit: Int, perOwner: Int? = nil) {
        self.limit = limit
        self.perOwner = perOwner ?? limit
    }

    package enum Refusal { case server, owner }

    /// Reserves `bytes` for `owner`, or says whose limit it would pass.
    package func reserve(_ bytes: Int, for owner: String) -> Refusal? {
        use.withLock { u in
            let held = u.byOwner[owner] ?? 0
            guard held + bytes <= perOwner else { return .owner }
            guard u.total + bytes <= limit else { return .server }
            u.total += bytes
            u.byOwner[owner] = held + bytes
            return nil
        }
    }

    package func release(_ bytes: Int, for owner: String) {
        guard bytes > 0 else { return }
        use.withLock { u in
            u.total -= bytes
            let left = (u.byOwner[owner] ?? 0) - bytes
            u.byOwner[owner] = left > 0 ? left : nil
        }
    }

    package var inUse: Int { use.withLock { $0.total } }
    package func inUse(by owner: String) -> Int { use.withLock { $0.byOwner[owner] ?? 0 } }
}


/// Reads whole binary messages from WebSocket frames: text frames, bad fragmentation and
/// messages over the limit are errors, and every byte held is reserved from a budget first.
package struct MessageReader {
    private var frames: WebSocketInboundStream.AsyncIterator
    package var maxMessageBytes: Int
    package let budget: MemoryBudget?
    /// Whose share of the budget the bytes count against; changes only while nothing is held.
    package var owner: String {
        willSet { precondition(held == 0, "a message reader changed owner while holding bytes") }
    }
    /// Bytes of the last message returned, still reserved until `release()`.
    private var held = 0

    package init(_ inbound: WebSocketInboundStream, maxMessageBytes: Int, budget: MemoryBudget?, owner: String = "") {
        frames = inbound.makeAsyncIterator()
        self.maxMessageBytes = maxMessageBytes
        self.budget = budget
        self.owner = owner
    }

    /// The next message, or nil when the peer closed the connection.
    package mutating func next() async throws(TrellisError) -> [UInt8]? {
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
    package mutating func release() {
        budget?.release(held, for: owner)
        held = 0
    }
}
