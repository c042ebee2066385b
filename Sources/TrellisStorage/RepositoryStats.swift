import TrellisCore

/// What `trellis stats` reports about one repository.
public struct RepositoryStats: Sendable {
    public var repository: String
    public var commits = 0
    /// Keys with at least one commit, and those whose newest head is not a tombstone.
    public var records = 0
    public var liveRecords = 0
    public var packs = 0
    public var packedCommits = 0
    public var logCommits = 0
    /// Commits that carry a signature of their own (the others are merges, or covered by a
    /// later commit of their author: docs/format.md §Covered signatures).
    public var signatures = 0
    /// Every file of the repository: log, packs, indexes, checkpoint; and each kind apart.
    public var bytesOnDisk: UInt64 = 0
    public var packBytes: UInt64 = 0
    public var indexBytes: UInt64 = 0
    public var checkpointBytes: UInt64 = 0
    public var logBytes: UInt64 = 0
    /// Canonical encodings plus signatures of every commit, uncompressed.
    public var rawBytes: UInt64 = 0
    public var deltas = 0
    public var longestChain = 0
    public var meanChain = 0.0

    public var compressionRatio: Double { bytesOnDisk == 0 ? 0 : Double(rawBytes) / Double(bytesOnDisk) }

    /// Reads every pack and the log once.
    static func measure(_ index: RepositoryIndex) throws(TrellisError) -> RepositoryStats {
        var s = RepositoryStats(repository: index.name)
        var seen = Set<CommitID>()
        var chainTotal = 0
        for pack in index.packs {
            s.packs += 1
            var depth = [Int](repeating: 0, count: pack.entryCount)
            try pack.forEachEntry { n, e throws(TrellisError) in
                if e.distance > 0 {
                    depth[n] = depth[n - e.distance] + 1
                    s.deltas += 1
                }
                chainTotal += depth[n]
                s.longestChain = max(s.longestChain, depth[n])
                s.packedCommits += 1
                if seen.insert(e.id).inserted {
                    s.rawBytes += UInt64(e.encoded.count + e.signature.count)
                    if !e.signature.isEmpty { s.signatures += 1 }
                }
            }
        }
        for c in try index.log.allCommits() {
            s.logCommits += 1
            if seen.insert(c.id).inserted {
                s.rawBytes += UInt64(c.encoded.count + c.signature.count)
                if !c.signature.isEmpty { s.signatures += 1 }
            }
        }
        s.commits = seen.count
        s.meanChain = s.packedCommits == 0 ? 0 : Double(chainTotal) / Double(s.packedCommits)
        s.records = index.keyCount
        s.liveRecords = try index.liveKeys().count
        s.logBytes = FileSystem.size(index.log.path)
        s.checkpointBytes = FileSystem.size(index.checkpointPath)
        for name in (try? FileSystem.list(index.packsDirectory)) ?? [] {
            let size = FileSystem.size(index.packsDirectory + "/" + name)
            if name.hasSuffix(".pack") { s.packBytes += size } else if name.hasSuffix(".idx") { s.indexBytes += size }
            s.bytesOnDisk += size
        }
        s.bytesOnDisk += s.logBytes + s.checkpointBytes
        return s
    }
}
