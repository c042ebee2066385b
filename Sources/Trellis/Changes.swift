import Foundation
import TrellisCore
import TrellisStorage

/// A commit that arrived in a repository, with the record's document as of that commit.
public struct Change: Sendable {
    public let commit: CommitInfo
    /// nil for a deletion.
    public let document: Document?

    public var key: String { commit.key }
    public var id: CommitID { commit.id }

    public init(commit: CommitInfo, document: Document?) {
        self.commit = commit
        self.document = document
    }
}

extension Repository {
    /// The commits that arrive in this repository (only `key`'s, when given) from now on, in
    /// arrival order (parents first): writes in this process, writes by other processes on the
    /// same store, and commits received by sync. It starts when it is called and keeps what
    /// arrives until it is iterated (docs/architecture.md §Local change streams).
    public func changes(_ key: String? = nil) -> Changes {
        Changes(repository: self, key: key, start: try? store.engine.syncView(name).seqEnd)
    }

    /// The record's document when `observe` is called (nil when absent or deleted), then the
    /// record's merged document after each commit to it, as GRDB's `ValueObservation` does.
    /// Documents are read as the stream is iterated, so commits that land before it reads may
    /// come out as one value (the newest), and consecutive equal documents are yielded once.
    public func observe(_ key: String) -> AsyncThrowingStream<Document?, any Error> {
        let changes = self.changes(key)
        // Read with the stream's start, so that the first value is the one before any change
        // the stream hears (an in-memory read; it waits only for a writer's index steps).
        let first = Result { () throws(TrellisError) -> Document? in try self.get(key) }
        let repository = self
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var last = try first.get()
                    continuation.yield(last)
                    for try await _ in changes {
                        let now = try await repository.get(key)
                        if now != last { continuation.yield(now) }
                        last = now
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A repository's change stream (`Repository.changes(_:)`).
    public struct Changes: AsyncSequence, Sendable {
        public typealias Element = Change

        /// How often an idle stream looks for commits written by other processes; this process's
        /// own writes wake it at once.
        public static let pollInterval = 0.05

        let repository: Repository
        let key: String?
        /// The arrival number it starts at; nil when it could not be read, then the first
        /// iteration starts at the end.
        let start: UInt64?

        public func makeAsyncIterator() -> Iterator { Iterator(Feed(self)) }

        public struct Iterator: AsyncIteratorProtocol {
            let feed: Feed
            init(_ feed: Feed) { self.feed = feed }

            public mutating func next() async throws -> Change? { try await feed.next() }
        }
    }

    /// What an iterator reads from: its place in the arrivals, what it read but has not handed
    /// out, and the wake-ups (this process's writes to the repository, and a timer for other
    /// processes').
    public final class Feed {
        private let engine: any RecordStore
        private let name: String
        private let key: String?
        private var mark: UInt64?
        private var pending: [Change] = []
        private var wakeups: AsyncStream<Void>.Iterator
        private let token: UInt64
        private let ticker: Task<Void, Never>

        init(_ changes: Changes) {
            engine = changes.repository.store.engine
            name = changes.repository.name
            key = changes.key
            mark = changes.start
            let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            wakeups = stream.makeAsyncIterator()
            let name = self.name
            token = engine.observeCommits { names in if names.contains(name) { continuation.yield() } }
            ticker = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: UInt64(Changes.pollInterval * 1e9))
                    continuation.yield()
                }
                continuation.finish()
            }
        }

        deinit {
            engine.stopObservingCommits(token)
            ticker.cancel()
        }

        func next() async throws -> Change? {
            while pending.isEmpty {
                if Task.isCancelled { return nil }
                let (engine, name, key, mark) = (self.engine, self.name, self.key, self.mark)
                let (found, end) = try await Blocking.read { () throws(TrellisError) -> ([Change], UInt64) in
                    guard let mark else { return ([], try engine.syncView(name).seqEnd) }
                    let arrived = try engine.arrivals(in: name, since: mark)
                    var found: [Change] = []
                    for id in arrived.ids {
                        let info = try engine.info(id)
                        guard key == nil || info.key == key else { continue }
                        found.append(Change(commit: info, document: try engine.commit(id).commit.document))
                    }
                    return (found, arrived.end)
                }
                self.mark = max(mark ?? 0, end)
                pending = found
                if pending.isEmpty, await wakeups.next() == nil { return nil }
            }
            return pending.removeFirst()
        }
    }
}
