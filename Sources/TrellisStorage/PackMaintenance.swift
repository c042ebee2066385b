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

    /// A report of a repository with nothing to pack.
    static func empty(_ repository: String) -> PackReport {
        PackReport(repository: repository, commits: 0, deltas: 0, longestChain: 0, packBytes: 0, packsRemoved: 0)
    }
}

/// Seal and repack: the file choreography that keeps every commit in a durable pack or in the
/// log at every instant (docs/format.md §Checkpoints). Callers hold the store's write lock and
/// are the only writer of the index; `locked` runs a step with the engine's in-process lock
/// held. Only the steps that read or change the index run under it: building the pack, writing
/// files and fsync run without it, so readers keep reading the old packs and log meanwhile.
enum PackMaintenance {
    typealias Locked = (() throws(TrellisError) -> Void) throws(TrellisError) -> Void

    /// Moves the log's commits into a new pack, then writes the checkpoint, then empties the log.
    /// `building` is called once the new pack's commits are read, before it is built (tests read meanwhile).
    /// `layout`: what the store's format decides (covered signatures dropped, file versions).
    static func seal(_ index: RepositoryIndex, depth: Int, blockSize: Int = PackFormat.targetBlockRaw, layout: PackLayout,
                     locked: Locked, building: () -> Void = {}) throws(TrellisError) -> PackReport? {
        try rewrite(index, packs: false, depth: depth, blockSize: blockSize, layout: layout, locked: locked, building: building)
    }

    /// Rewrites every pack and the log into one pack with deltas, then removes the old packs.
    static func repack(_ index: RepositoryIndex, depth: Int, blockSize: Int = PackFormat.targetBlockRaw, layout: PackLayout,
                       locked: Locked, building: () -> Void = {}) throws(TrellisError) -> PackReport {
        try rewrite(index, packs: true, depth: depth, blockSize: blockSize, layout: layout, locked: locked, building: building)
            ?? .empty(index.name)
    }

    /// `packs`: repack (every pack and the log into one pack); otherwise seal (the log into a new pack).
    private static func rewrite(_ index: RepositoryIndex, packs: Bool, depth: Int, blockSize: Int, layout: PackLayout,
                                locked: Locked, building: () -> Void) throws(TrellisError) -> PackReport? {
        var logCommits: [PackedCommit] = []
        var old: [PackReader] = []
        var logEmpty = true
        try locked { () throws(TrellisError) in
            logEmpty = index.log.isEmpty
            old = index.packs
            if !logEmpty { logCommits = try loggedCommits(index) }
        }
        // A seal of an empty log only rewrites the checkpoint: the heads are the packs' heads.
        if !packs && logEmpty {
            try finish(index, version: layout.fileVersion, locked: locked)
            return nil
        }

        // Every commit's header facts and where its bytes are: a pack entry (the pack's place
        // in `readers` in the high half) or a logged commit (`fromLog` there). Readers of their
        // own, with small caches: the index's readers cache blocks for the readers meanwhile.
        let fromLog = UInt64(UInt32.max) << 32
        let readers = packs ? old.map { PackReader(sharing: $0, blockCacheLimit: 1 << 20, resolvedCacheLimit: 1024) } : []
        var input = PackInput(capacity: readers.reduce(logCommits.count) { $0 + $1.entryCount })
        for (p, reader) in readers.enumerated() {
            try reader.forEachEntry { number, e throws(TrellisError) in
                try input.append(id: e.id, generation: e.generation, seq: e.seq, encoded: e.encoded, signed: !e.signature.isEmpty,
                                 source: UInt64(p) << 32 | UInt64(number))
            }
        }
        for (i, c) in logCommits.enumerated() {
            try input.append(id: c.id, generation: c.generation, seq: c.seq, encoded: c.encoded, signed: !c.signature.isEmpty,
                             source: fromLog | UInt64(i))
        }
        let fetch = { (source: UInt64) throws(TrellisError) -> PackSourceEntry in
            let (place, number) = (Int(source >> 32), Int(source & 0xffff_ffff))
            if source & fromLog == fromLog {
                let c = logCommits[number]
                return PackSourceEntry(id: c.id, encoded: c.encoded, signature: c.signature)
            }
            let e = try readers[place].entry(number)
            return PackSourceEntry(id: e.id, encoded: e.encoded, signature: e.signature)
        }
        building()

        var report: PackReport? = nil
        var newPacks: [PackReader] = packs ? [] : old
        var written: (PackReader, PackWriter.EntryNumbers)? = nil
        if input.count > 0 {
            // Repack runs offline, so it spends the time on LZ4 HC; a seal is on the write path.
            let output = try PackWriter.build(input, depth: depth, blockSize: blockSize, indexVersion: layout.fileVersion,
                                              effort: packs ? .high : .fast, dropsCoveredSignatures: layout.dropsCoveredSignatures,
                                              fetch: fetch)
            let pack = try writePack(output, in: index)
            newPacks.append(pack)
            written = (pack, output.numbers)
            report = PackReport(repository: index.name, commits: output.entries, deltas: output.deltas,
                                longestChain: output.longestChain, packBytes: output.pack.count, packsRemoved: 0)
        }
        try locked { () throws(TrellisError) in
            index.replacePacks(newPacks)
            if let (pack, numbers) = written { index.placeHeads(in: pack, numbers: numbers) }
        }
        if packs {
            let kept = Set(newPacks.map(\.path))
            if report == nil { report = .empty(index.name) }
            for p in old where !kept.contains(p.path) {
                // Pack first: an index without its pack is ignored, a pack without its index is not.
                unlink(p.path)
                unlink(p.indexPath)
                report?.packsRemoved += 1
            }
            Leftovers.remove(Leftovers.find(inRepository: index.directory))
            try FileSystem.syncDirectory(index.packsDirectory)
        }
        try finish(index, version: layout.fileVersion, locked: locked)
        return report
    }

    /// The log's intact commits with their generations and arrival numbers (under `locked`).
    private static func loggedCommits(_ index: RepositoryIndex) throws(TrellisError) -> [PackedCommit] {
        var commits: [PackedCommit] = []
        for c in try index.log.allCommits() {
            guard let logged = index.logged[c.id] else { continue }
            commits.append(PackedCommit(id: c.id, generation: logged.info.generation, seq: logged.seq,
                                        encoded: c.encoded, signature: c.signature))
        }
        return commits
    }

    /// Writes the checkpoint of the packs (which now hold every commit), then empties the log.
    /// The files are written and fsynced outside `locked`; only the renames that readers would
    /// see happen under it.
    private static func finish(_ index: RepositoryIndex, version: Int, locked: Locked) throws(TrellisError) {
        var checkpoint: [UInt8] = []
        var logPath = ""
        var logEmpty = true
        try locked { () throws(TrellisError) in
            checkpoint = try index.checkpoint(version: version).encoded()
            logPath = index.log.path
            logEmpty = index.log.isEmpty
        }
        try FileSystem.writeAtomically(index.checkpointPath, checkpoint)
        let emptyLog = logEmpty ? nil : try FileSystem.writeAside(logPath, LogFile.fileMagic)
        try locked { () throws(TrellisError) in
            index.checkpointWritten()
            guard let emptyLog else { return }
            do throws(TrellisError) {
                if index.log.hasDamage {
                    // Its intact commits are in the new pack; the damaged bytes are kept for inspection.
                    let aside = "\(logPath).damaged-0-\(FileSystem.nowMillis())"
                    guard rename(logPath, aside) == 0 else { throw FileHandle.error("cannot move \(logPath) aside", path: logPath) }
                }
                try FileSystem.renameIntoPlace(emptyLog, logPath)
            } catch {
                unlink(emptyLog)
                throw error
            }
            index.replaceLog(try LogFile(path: logPath))
        }
        if !logEmpty { try FileSystem.syncDirectory(index.directory) }
    }

    /// Index first, then pack, each through a temporary file, fsync and rename.
    private static func writePack(_ output: PackWriter.Output, in index: RepositoryIndex) throws(TrellisError) -> PackReader {
        try FileSystem.makeDirectory(index.packsDirectory)
        let base = index.packsDirectory + "/" + PackFormat.name(checksum: output.checksum)
        try FileSystem.writeAtomically(base + ".idx", output.index)
        try FileSystem.writeAtomically(base + ".pack", output.pack)
        return try PackReader(path: base + ".pack")
    }
}
