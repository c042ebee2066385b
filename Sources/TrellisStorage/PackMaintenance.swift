#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrellisCore

/// What a seal or repack did.
public struct PackReport: Sendable {
    public var repository: String
    public var commits: Int
    public var deltas: Int
    public var longestChain: Int
    public var packBytes: Int
    public var packsRemoved: Int
}

/// Seal and repack: the file choreography that keeps every commit in a durable pack or in the
/// log at every instant (docs/format.md §Checkpoints). Callers hold the store's write lock.
enum PackMaintenance {
    /// Moves the log's commits into a new pack, then writes the checkpoint, then empties the log.
    static func seal(_ index: RepositoryIndex, depth: Int, blockSize: Int = PackFormat.targetBlockRaw) throws(TrellisError) -> PackReport? {
        guard !index.log.isEmpty else {
            try writeCheckpoint(index)  // the heads are the packs' heads
            return nil
        }
        var commits: [PackedCommit] = []
        for c in try index.log.allCommits() {
            guard let logged = index.logged[c.id] else { continue }
            commits.append(try PackedCommit(id: c.id, generation: logged.info.generation, seq: logged.seq,
                                            encoded: c.encoded, signature: c.signature))
        }
        var report: PackReport? = nil
        if !commits.isEmpty {
            let (pack, output) = try writePack(commits, depth: depth, blockSize: blockSize, in: index)
            index.replacePacks(index.packs + [pack])
            report = PackReport(repository: index.name, commits: output.entries, deltas: output.deltas,
                                longestChain: output.longestChain, packBytes: output.pack.count, packsRemoved: 0)
        }
        try writeCheckpoint(index)
        try emptyLog(index)
        return report
    }

    /// Rewrites every pack and the log into one pack with deltas, then removes the old packs.
    static func repack(_ index: RepositoryIndex, depth: Int, blockSize: Int = PackFormat.targetBlockRaw) throws(TrellisError) -> PackReport {
        var commits: [PackedCommit] = []
        var seen = Set<CommitID>()
        for pack in index.packs {
            try pack.forEachEntry { _, e throws(TrellisError) in
                if seen.insert(e.id).inserted {
                    commits.append(try PackedCommit(id: e.id, generation: e.generation, seq: e.seq, encoded: e.encoded, signature: e.signature))
                }
            }
        }
        for c in try index.log.allCommits() where seen.insert(c.id).inserted {
            guard let logged = index.logged[c.id] else { continue }
            commits.append(try PackedCommit(id: c.id, generation: logged.info.generation, seq: logged.seq,
                                            encoded: c.encoded, signature: c.signature))
        }
        let old = index.packs
        var report = PackReport(repository: index.name, commits: 0, deltas: 0, longestChain: 0, packBytes: 0, packsRemoved: 0)
        if commits.isEmpty {
            index.replacePacks([])
        } else {
            let (pack, output) = try writePack(commits, depth: depth, blockSize: blockSize, in: index)
            index.replacePacks([pack])
            report = PackReport(repository: index.name, commits: output.entries, deltas: output.deltas,
                                longestChain: output.longestChain, packBytes: output.pack.count, packsRemoved: 0)
        }
        let kept = Set(index.packs.map(\.path))
        for p in old where !kept.contains(p.path) {
            // Pack first: an index without its pack is ignored, a pack without its index is not.
            unlink(p.path)
            unlink(p.indexPath)
            report.packsRemoved += 1
        }
        Leftovers.remove(Leftovers.find(inRepository: index.directory))
        try FileSystem.syncDirectory(index.packsDirectory)
        try writeCheckpoint(index)
        try emptyLog(index)
        return report
    }

    /// Index first, then pack, each through a temporary file, fsync and rename.
    private static func writePack(_ commits: [PackedCommit], depth: Int, blockSize: Int, in index: RepositoryIndex) throws(TrellisError) -> (PackReader, PackWriter.Output) {
        let output = try PackWriter.build(commits, depth: depth, blockSize: blockSize)
        try FileSystem.makeDirectory(index.packsDirectory)
        let base = index.packsDirectory + "/" + PackFormat.name(checksum: output.checksum)
        try FileSystem.writeAtomically(base + ".idx", output.index)
        try FileSystem.writeAtomically(base + ".pack", output.pack)
        return (try PackReader(path: base + ".pack"), output)
    }

    /// Only when every commit in the index is in a pack: a checkpoint covers packs, not the log.
    static func writeCheckpoint(_ index: RepositoryIndex) throws(TrellisError) {
        let checkpoint = Checkpoint(packs: index.packs.map(\.checksum), records: index.checkpointRecords())
        try FileSystem.writeAtomically(index.checkpointPath, try checkpoint.encoded())
        index.checkpointWritten()
    }

    private static func emptyLog(_ index: RepositoryIndex) throws(TrellisError) {
        guard !index.log.isEmpty else { return }
        if index.log.hasDamage {
            // Its intact commits are in the new pack; the damaged bytes are kept for inspection.
            let aside = "\(index.log.path).damaged-0-\(FileSystem.nowMillis())"
            guard rename(index.log.path, aside) == 0 else { throw FileHandle.error("cannot move \(index.log.path) aside") }
        }
        try LogFile.create(path: index.log.path)
        index.replaceLog(try LogFile(path: index.log.path))
    }
}
