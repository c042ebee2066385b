import TrellisCore
import TrellisStorage

/// A commit as it travels: its canonical encoding and signature, not yet verified.
/// The part of WELCOME and SYNC that carries the exchange (docs/sync.md §SYNC).
package struct SyncBody: Sendable, Equatable {
    package var more = false
    /// Set only by the responder, when the stores agree and the session is over.
    package var done = false
    package var digest: [UInt8]
    package var filter: BloomFilter?
    package var need: [CommitID] = []
    package var commits: [WireCommit] = []

    package init(digest: [UInt8], filter: BloomFilter? = nil, need: [CommitID] = [], commits: [WireCommit] = [], more: Bool = false) {
        (self.digest, self.filter, self.need, self.commits, self.more) = (digest, filter, need, commits, more)
    }

    /// The responder's closing body: the stores agree.
    package static func done(digest: [UInt8]) -> SyncBody {
        var b = SyncBody(digest: digest)
        b.done = true
        return b
    }
}

package struct Hello: Sendable, Equatable {
    package var peer: [UInt8]
    package var token: [UInt8]
    package var selection: [String]
    package var digest: [UInt8]
    package var filter: BloomFilter
}

/// The four messages of docs/sync.md §Messages, with their byte encoding.
package enum SyncMessage: Sendable, Equatable {
    case hello(Hello)
    case welcome(peer: [UInt8], accepted: Bool, body: SyncBody)
    case sync(SyncBody)
    case error(String)

    package static let version: UInt8 = 1
    package static let maxMessageBytes = 48 << 20
    package static let targetCommitBytes = 4 << 20
    package static let maxSelection = 1024
    package static let maxNeed = 100_000
    package static let maxCommits = 1_000_000
    package static let maxCommitBytes = 32 << 20
    /// Commits a receiver holds while their parents are asked for.
    package static let maxHeldBytes = 64 << 20
    package static let maxErrorBytes = 4096
    package static let zeroToken = [UInt8](repeating: 0, count: 32)

    package func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.u8(Self.version)
        switch self {
        case .hello(let h):
            w.u8(1)
            w.raw(h.peer)
            w.raw(h.token)
            w.varint(UInt64(h.selection.count))
            for name in h.selection { w.string(name) }
            w.raw(h.digest)
            h.filter.write(to: &w)
        case .welcome(let peer, let accepted, let body):
            w.u8(2)
            w.raw(peer)
            w.u8(accepted ? 1 : 0)
            Self.write(body, to: &w)
        case .sync(let body):
            w.u8(3)
            Self.write(body, to: &w)
        case .error(let text):
            w.u8(4)
            w.string(String(decoding: Array(text.utf8.prefix(Self.maxErrorBytes)), as: UTF8.self))
        }
        return w.bytes
    }

    private static func write(_ b: SyncBody, to w: inout ByteWriter) {
        w.u8((b.more ? 1 : 0) | (b.done ? 2 : 0))
        w.raw(b.digest)
        if let f = b.filter {
            w.u8(1)
            f.write(to: &w)
        } else {
            w.u8(0)
        }
        w.varint(UInt64(b.need.count))
        for id in b.need { id.write(to: &w) }
        writeCommits(b.commits, to: &w)
    }

    /// Decodes a message, refusing anything outside the rules and limits of docs/sync.md.
    package static func decode(_ bytes: [UInt8]) throws(TrellisError) -> SyncMessage {
        guard bytes.count <= maxMessageBytes else {
            throw TrellisError(.corruptData, "sync message of \(bytes.count) bytes exceeds the limit of \(maxMessageBytes)")
        }
        var r = ByteReader(bytes)
        do throws(TrellisError) {
            let version = try r.u8()
            guard version == Self.version else { throw TrellisError(.corruptData, "unsupported sync protocol version \(version)") }
            let type = try r.u8()
            let message: SyncMessage
            switch type {
            case 1:
                let peer = Array(try r.raw(32)), token = Array(try r.raw(32))
                let count = try r.varint()
                guard count <= UInt64(maxSelection) else { throw TrellisError(.corruptData, "selection of \(count) repositories exceeds \(maxSelection)") }
                var selection: [String] = []
                for _ in 0..<count {
                    let name = try r.string()
                    guard StorageEngine.isValidRepositoryName(name) else { throw TrellisError(.corruptData, "invalid repository name in selection") }
                    if let last = selection.last, !Array(last.utf8).lexicographicallyPrecedes(Array(name.utf8)) {
                        throw TrellisError(.corruptData, "selection is not strictly increasing")
                    }
                    selection.append(name)
                }
                let digest = Array(try r.raw(32))
                message = .hello(Hello(peer: peer, token: token, selection: selection, digest: digest,
                                       filter: try BloomFilter.read(from: &r)))
            case 2:
                let peer = Array(try r.raw(32))
                let accepted = try r.u8()
                guard accepted <= 1 else { throw TrellisError(.corruptData, "accepted must be 0 or 1") }
                message = .welcome(peer: peer, accepted: accepted == 1, body: try readBody(&r))
            case 3:
                message = .sync(try readBody(&r))
            case 4:
                let text = try r.string()
                guard text.utf8.count <= maxErrorBytes else { throw TrellisError(.corruptData, "error text too long") }
                message = .error(text)
            default:
                throw TrellisError(.corruptData, "unknown sync message type \(type)")
            }
            guard r.isAtEnd else { throw TrellisError(.corruptData, "\(r.remaining) bytes left over after the message") }
            return message
        } catch {
            throw TrellisError(.corruptData, "malformed sync message: \(error.message)")
        }
    }

    private static func readBody(_ r: inout ByteReader) throws(TrellisError) -> SyncBody {
        let flags = try r.u8()
        guard flags <= 2 else { throw TrellisError(.corruptData, "flags \(flags) are unknown or contradictory") }
        let digest = Array(try r.raw(32))
        let hasFilter = try r.u8()
        guard hasFilter <= 1 else { throw TrellisError(.corruptData, "has_filter must be 0 or 1") }
        let filter = hasFilter == 1 ? try BloomFilter.read(from: &r) : nil
        let needCount = try r.length(elementSize: 32)
        guard needCount <= maxNeed else { throw TrellisError(.corruptData, "need of \(needCount) ids exceeds \(maxNeed)") }
        var need: [CommitID] = []
        need.reserveCapacity(needCount)
        for _ in 0..<needCount { need.append(try r.commitID()) }
        let commits = try readCommits(&r)
        var body = SyncBody(digest: digest, filter: filter, need: need, commits: commits, more: flags == 1)
        body.done = flags == 2
        guard !body.done || (filter == nil && need.isEmpty && commits.isEmpty) else {
            throw TrellisError(.corruptData, "a done body carries nothing")
        }
        return body
    }

    /// A commit list as SYNC bodies carry it: a varint count, then per commit a varint length
    /// and the encoding, a varint signature length (0 or 64) and the signature.
    package static func writeCommits(_ commits: [WireCommit], to w: inout ByteWriter) {
        w.varint(UInt64(commits.count))
        for c in commits {
            w.varint(UInt64(c.encoded.count))
            w.raw(c.encoded)
            w.varint(UInt64(c.signature.count))
            w.raw(c.signature)
        }
    }

    package static func readCommits(_ r: inout ByteReader) throws(TrellisError) -> [WireCommit] {
        let commitCount = try r.length(elementSize: 2)
        guard commitCount <= maxCommits else { throw TrellisError(.corruptData, "\(commitCount) commits exceed \(maxCommits)") }
        var commits: [WireCommit] = []
        commits.reserveCapacity(commitCount)
        for _ in 0..<commitCount {
            let n = try r.length()
            guard n >= 1, n <= maxCommitBytes else { throw TrellisError(.corruptData, "commit length \(n) out of range") }
            let encoded = Array(try r.raw(n))
            let s = try r.length()
            guard s == 0 || s == 64 else { throw TrellisError(.corruptData, "signature length \(s) is neither 0 nor 64") }
            commits.append(WireCommit(encoded: encoded, signature: Array(try r.raw(s))))
        }
        return commits
    }
}

/// Where a run of commits may end: not right after a commit whose signature was dropped while
/// the commit that covers it (docs/format.md §Covered signatures) is still to come.
package enum CoverageCut {
    /// Commits in record order: by repository, key (bytes), generation and id. That is parents
    /// first, and it keeps each record's commits together, so that a commit whose signature was
    /// dropped travels with the later one that covers it.
    package static func recordOrder(_ commits: [(repository: String, id: CommitID)],
                                    in engine: any CommitStore) throws(TrellisError) -> [(repository: String, id: CommitID)] {
        var keyed: [(repository: String, key: String, generation: UInt32, id: CommitID)] = []
        keyed.reserveCapacity(commits.count)
        // One batch per repository, which the engine reads in storage order.
        var byRepository: [String: [CommitID]] = [:]
        for (repo, id) in commits { byRepository[repo, default: []].append(id) }
        for (repo, ids) in byRepository {
            for info in try engine.infos(in: repo, ids) { keyed.append((repo, info.key, info.generation, info.id)) }
        }
        keyed.sort { a, b in
            if a.repository != b.repository { return a.repository.utf8.lexicographicallyPrecedes(b.repository.utf8) }
            if a.key != b.key { return a.key.utf8.lexicographicallyPrecedes(b.key.utf8) }
            return a.generation != b.generation ? a.generation < b.generation : a.id < b.id
        }
        return keyed.map { ($0.repository, $0.id) }
    }

    /// Whether `commits` end inside an uncovered stretch of one record whose next commit is `nextID`.
    package static func endsUncovered(_ commits: [WireCommit], nextID: CommitID, in engine: any CommitStore) throws(TrellisError) -> Bool {
        guard let last = commits.last, let lastHeader = try? Commit.decodeHeader(last.encoded) else { return false }
        let next = try engine.info(nextID)
        guard next.repository == lastHeader.repository, next.key == lastHeader.key else { return false }
        var items: [SignatureCoverage.Item] = []
        for c in commits.reversed() {
            guard let h = try? Commit.decodeHeader(c.encoded), h.repository == lastHeader.repository, h.key == lastHeader.key else { break }
            items.append(.init(id: CommitID.of(c.encoded), author: h.author, parents: h.parents, hasSignature: !c.signature.isEmpty))
        }
        return SignatureCoverage.plan(items).contains(.missing)
    }
}

/// Reads a repository's commits, in the order of `ids`, in batches of about
/// `SyncMessage.targetCommitBytes`: the unit a push carries in one message. A batch goes past
/// the target only to keep a dropped signature's covering commit with it (`CoverageCut`).
package struct CommitBatches {
    private let engine: any CommitStore
    private let repository: String
    private var ids: [CommitID]
    private var next = 0
    private var sorted = false

    /// `ids` parents first; batches carry them in record order (`CoverageCut.recordOrder`).
    package init(engine: any CommitStore, repository: String, ids: [CommitID]) {
        (self.engine, self.repository, self.ids) = (engine, repository, ids)
    }

    package mutating func nextBatch() throws(TrellisError) -> [WireCommit]? {
        guard next < ids.count else { return nil }
        if !sorted {
            ids = try CoverageCut.recordOrder(ids.map { (repository, $0) }, in: engine).map(\.id)
            sorted = true
        }
        var batch: [WireCommit] = []
        var bytes = 0
        while next < ids.count {
            if bytes >= SyncMessage.targetCommitBytes {
                guard try CoverageCut.endsUncovered(batch, nextID: ids[next], in: engine) else { break }
            }
            let chunk = Array(ids[next..<min(next + (bytes >= SyncMessage.targetCommitBytes ? 1 : 256), ids.count)])
            for c in try engine.wireCommits(in: repository, chunk) {
                batch.append(c)
                bytes += c.encoded.count + c.signature.count
                next += 1
                if bytes >= SyncMessage.targetCommitBytes { break }
            }
        }
        return batch
    }
}
