import TrellisCore
import TrellisCrypto
import TrellisStorage

/// Bundle files: commits carried offline in one direction (docs/sync.md §Bundles).
public enum SyncBundle {
    package static let magic: [UInt8] = Array("TRLBNDL1".utf8)

    public struct Report: Sendable, Equatable, Codable {
        public var commits = 0
        public var bytes = 0
        public var repositories: [String] = []
    }

    /// A bundle made by `create`: its bytes, and what they hold.
    public struct Made: Sendable {
        public let bytes: [UInt8]
        public let report: Report
    }

    /// Every commit of the named repositories (all when none), parents first, as bundle bytes.
    package static func create(from engine: any CommitStore, repositories: [String] = []) throws(TrellisError) -> Made {
        for name in repositories where !StorageEngine.isValidRepositoryName(name) {
            throw TrellisError(.invalidArgument, "invalid repository name '\(name)'")
        }
        let selection = Array(Set(repositories)).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let endpoint = SyncEndpoint(engine: engine)
        // The bundle names the repositories it holds, so `apply` refuses any other.
        endpoint.select(selection.isEmpty ? try engine.repositoryNames() : selection)
        let snapshot = try endpoint.snapshot()
        var out = ByteWriter(capacity: 1 << 16)
        out.raw(magic)
        func append(_ message: SyncMessage) {
            let bytes = message.encoded()
            out.u32(UInt32(bytes.count))
            out.raw(bytes)
        }
        append(.hello(Hello(peer: try engine.identity.publicKey.bytes, token: SyncMessage.zeroToken, selection: endpoint.selection,
                            digest: snapshot.digest, filter: try BloomFilter([CommitID]()))))
        var report = Report(repositories: snapshot.marks.keys.sorted())
        // An empty filter contains nothing, so the whole scope is queued.
        try endpoint.absorb(SyncBody(digest: snapshot.digest, filter: try BloomFilter([CommitID]())))
        repeat {
            let body = try endpoint.nextBody(digest: snapshot.digest, withFilter: false)
            report.commits += body.commits.count
            append(.sync(body))
        } while endpoint.hasQueued
        out.raw(Blake2b256.hash(out.bytes))
        report.bytes = out.bytes.count
        return Made(bytes: out.bytes, report: report)
    }

    /// Checks the trailer, then stores each message's commits as one verified batch.
    package static func apply(_ bytes: [UInt8], to engine: any CommitStore) throws(TrellisError) -> Report {
        guard bytes.count >= magic.count + 32, Array(bytes.prefix(magic.count)) == magic else {
            throw TrellisError(.corruptData, "not a Trellis bundle (bad magic)")
        }
        guard Blake2b256.hash(bytes.dropLast(32)) == Array(bytes.suffix(32)) else {
            throw TrellisError(.corruptData, "the bundle is damaged or truncated (checksum mismatch); nothing was stored")
        }
        var r = ByteReader(Array(bytes.dropLast(32)), offset: magic.count)
        let endpoint = SyncEndpoint(engine: engine)
        var report = Report(bytes: bytes.count)
        var sawHello = false
        var sawLast = false
        while !r.isAtEnd {
            let length = Int(try r.u32())
            guard length <= SyncMessage.maxMessageBytes, r.remaining >= length else {
                throw TrellisError(.corruptData, "bundle message length \(length) out of range")
            }
            let message = try SyncMessage.decode(Array(try r.raw(length)))
            switch message {
            case .hello(let hello) where !sawHello:
                endpoint.select(hello.selection)
                report.repositories = hello.selection
                sawHello = true
            case .sync(let body) where sawHello && !sawLast && body.filter == nil && body.need.isEmpty && !body.done:
                try endpoint.absorb(body)
                report.commits += body.commits.count
                sawLast = !body.more
            default:
                throw TrellisError(.corruptData, "the bundle holds a message out of place")
            }
        }
        guard sawLast else { throw TrellisError(.corruptData, "the bundle ends before its last message") }
        guard !endpoint.hasHeld else {
            throw TrellisError(.notFound, "the bundle's commits need parents that neither the bundle nor this store holds")
        }
        return report
    }
}
