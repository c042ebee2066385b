import Foundation
import Logging
import TrellisClient
import TrellisCore
import TrellisCrypto
import TrellisStorage
import TrellisSync

/// Pushes new commits to the connections subscribed to their repository (docs/server.md §Live
/// push). It follows each repository's arrival numbers, so commits stored by a sync session,
/// by the server's own writes or by another process on the same store all reach subscribers,
/// in arrival order (parents first).
///
/// Its mutable state is in a `Locked` box; pushes run one at a time under `pushing`.
final class Broker: Sendable {
    struct Subscriber {
        let key: PublicKey
        let outbox: Outbox
        /// Called when the subscriber lost read access or fell too far behind.
        let drop: @Sendable (String) -> Void
    }

    private let engine: any CommitStore
    private let policy: AccessPolicy
    private let logger: Logger
    private struct State {
        var subscribers: [String: [ObjectIdentifier: Subscriber]] = [:]
        /// The arrival number up to which each subscribed repository has been pushed.
        var marks: [String: UInt64] = [:]
    }
    private let state = Locked(State())
    /// Held while pushing, so two pushes for one repository never race past each other's mark.
    private let pushing = NSLock()

    init(engine: any CommitStore, policy: AccessPolicy, logger: Logger) {
        self.engine = engine
        self.policy = policy
        self.logger = logger
    }

    /// Subscribes `id` to `repositories`; commits arriving from now on are pushed.
    func subscribe(_ id: ObjectIdentifier, _ subscriber: Subscriber, to repositories: [String]) throws(TrellisError) {
        var fresh: [String] = []
        state.withLock { s in
            for name in repositories {
                if s.subscribers[name] == nil { fresh.append(name) }
                s.subscribers[name, default: [:]][id] = subscriber
            }
        }
        // A repository nobody watched starts at its current end, read under the push lock so a
        // concurrent push cannot move the mark past it.
        pushing.lock()
        defer { pushing.unlock() }
        for name in fresh where state.withLock({ $0.marks[name] == nil }) {
            let end = try engine.syncView(name).seqEnd
            state.withLock { $0.marks[name] = end }
        }
    }

    func unsubscribe(_ id: ObjectIdentifier) {
        state.withLock { s in
            for name in Array(s.subscribers.keys) {
                s.subscribers[name]?[id] = nil
                if s.subscribers[name]?.isEmpty == true {
                    s.subscribers[name] = nil
                    s.marks[name] = nil
                }
            }
        }
    }

    var subscribedRepositories: [String] { state.withLock { Array($0.subscribers.keys) } }

    func subscriberCount(_ repository: String) -> Int { state.withLock { $0.subscribers[repository]?.count ?? 0 } }

    /// Pushes whatever arrived in `repositories` since their marks. Blocking: call it off the
    /// event loops.
    func pushNew(in repositories: [String]) {
        pushing.withLock {
            for name in repositories {
                do throws(TrellisError) { try pushNew(in: name) } catch {
                    logger.error("push failed", metadata: ["repository": "\(name)", "error": "\(error.message)"])
                }
            }
        }
    }

    /// Relay mode: sends `message` as it is to every other subscriber of `repository` that may
    /// read it; returns how many it went to.
    func forward(_ message: [UInt8], in repository: String, except sender: ObjectIdentifier) -> Int {
        let targets = state.withLock { ($0.subscribers[repository] ?? [:]).filter { $0.key != sender }.map(\.value) }
        return deliver([message], in: repository, to: targets)
    }

    /// Queues `messages` for each target that may still read `repository` (checked on every
    /// delivery, so a revoked reader stops receiving at once); returns how many got them all.
    private func deliver(_ messages: [[UInt8]], in repository: String, to targets: [Subscriber]) -> Int {
        var delivered = 0
        for s in targets {
            guard policy.allows(s.key, .read, repository) else {
                s.drop("read access to repository '\(repository)' was revoked")
                continue
            }
            if messages.allSatisfy(s.outbox.push) {
                delivered += 1
            } else {
                s.drop("the connection fell more than \(s.outbox.maxPending) bytes behind")
            }
        }
        return delivered
    }

    private func pushNew(in name: String) throws(TrellisError) {
        guard let mark = state.withLock({ $0.marks[name] }) else { return }
        let arrived = try engine.arrivals(in: name, since: mark)
        let ids = arrived.ids, end = arrived.end
        guard !ids.isEmpty, end > mark else { return }
        var messages: [[UInt8]] = []
        var batches = CommitBatches(engine: engine, repository: name, ids: ids)
        while let batch = try batches.nextBatch() { messages.append(ServerMessage.push(repository: name, commits: batch).encoded()) }
        let targets = state.withLock { s -> [Subscriber] in
            s.marks[name] = end
            return Array((s.subscribers[name] ?? [:]).values)
        }
        _ = deliver(messages, in: name, to: targets)
    }
}
