#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrellisCore
import TrellisCrypto

// Seal and repack: logs sealed into packs after writes, and whole repositories rewritten into one
// pack (docs/architecture.md §Packs, checkpoints and repack).
extension StorageEngine {
    /// Seals a log that passed the threshold and rewrites a stale checkpoint. The write is
    /// already durable, so a failure here is reported as a warning, not as a failed write.
    func maintainAfterWrite(_ name: String) {
        let (found, blockSize, layout) = leaderLocked { () -> (RepositoryIndex?, Int, PackLayout) in
            let layout = PackLayout(storeFormat: formatVersion)
            guard let index = repos[name], index.log.validEnd >= sealBytes || !index.checkpointIsCurrent else { return (nil, 0, layout) }
            return (index, packBlockSize, layout)
        }
        // A checkpoint covers packs only, so a stale one is replaced by sealing the log.
        guard let index = found else { return }
        do throws(TrellisError) {
            _ = try PackMaintenance.seal(index, depth: PackFormat.defaultDepth, blockSize: blockSize, layout: layout, locked: leaderStep,
                                         building: { onLeaderStep?(.sealing) })
        } catch {
            leaderLocked {
                warn("repository '\(name)': could not seal the log: \(error.message)")
                Leftovers.remove(Leftovers.find(inRepository: index.directory))
                try? reloadRepository(name)
            }
        }
    }

    /// Rewrites each repository (all when `repositories` is empty) into one pack with deltas
    /// of at most `depth` links, then removes the old packs and empties the log. Readers keep
    /// reading the old packs while the new one is built and written.
    package func repack(_ repositories: [String] = [], depth: Int = StorageEngine.defaultPackDepth) throws(TrellisError) -> [PackReport] {
        guard (0...10_000).contains(depth) else { throw TrellisError(.invalidArgument, "depth must be 0 to 10000") }
        let names = repositories.isEmpty ? try repositoryNames() : repositories
        return try asLeader { () throws(TrellisError) in
            var reports: [PackReport] = []
            for name in names {
                let (found, blockSize, layout) = leaderLocked { (repos[name], packBlockSize, PackLayout(storeFormat: formatVersion)) }
                guard let index = found else { throw TrellisError(.notFound, "unknown repository '\(name)'") }
                do throws(TrellisError) {
                    reports.append(try PackMaintenance.repack(index, depth: depth, blockSize: blockSize, layout: layout, locked: leaderStep,
                                                              building: { onLeaderStep?(.sealing) }))
                } catch {
                    leaderLocked { try? reloadRepository(name) }
                    throw error
                }
            }
            return reports
        }
    }

    /// Moves an older store to the current format (docs/format.md §Store formats): writes
    /// `FORMAT` (temporary file, fsync, rename) under the write lock, then repacks every
    /// repository, which drops the signatures that later commits by the same author cover and
    /// writes version 2 indexes and checkpoints. Returns the format the store had; a store
    /// already in the current format is left as it is.
    @discardableResult
    package func upgrade() throws(TrellisError) -> Int {
        let before = try asLeader { () throws(TrellisError) -> Int in
            let onDisk = try StorageEngine.formatVersion(ofStoreAt: path)
            if onDisk < StorageEngine.currentFormat {
                try FileSystem.writeAtomically(path + "/FORMAT", Array((StorageEngine.formatLines[StorageEngine.currentFormat] ?? "").utf8))
            }
            leaderLocked { formatVersion = StorageEngine.currentFormat }
            return onDisk
        }
        if before < StorageEngine.currentFormat { _ = try repack() }
        return before
    }

    /// An empty repository, built aside and renamed into place under the write lock.
    package func createRepository(_ name: String) throws(TrellisError) {
        try StorageEngine.checkRepositoryName(name)
        try asLeader { () throws(TrellisError) in
            try leaderLocked { () throws(TrellisError) in
                guard !FileSystem.exists(repoDirectory(name) + "/log") else {
                    throw TrellisError(.invalidArgument, "repository '\(name)' already exists")
                }
                try createRepositoryDirectory(name)
                try loadRepository(name)
            }
        }
    }

    /// Renames the repository's directory aside (`repos/.rm-NAME-PID`, which no reader lists)
    /// and fsyncs that, so it vanishes at once and whole; then deletes the files. A crash in
    /// between leaves a leftover that the next writer removes.
    package func removeRepository(_ name: String) throws(TrellisError) {
        try StorageEngine.checkRepositoryName(name)
        try asLeader { () throws(TrellisError) in
            try leaderLocked { () throws(TrellisError) in
                let dir = repoDirectory(name)
                guard FileSystem.exists(dir + "/log") else { throw TrellisError(.notFound, "unknown repository '\(name)'") }
                let aside = path + "/repos/.rm-\(name)-\(getpid())"
                guard rename(dir, aside) == 0 else {
                    throw TrellisError(.io, "cannot remove repository \(dir): \(String(cString: strerror(errno)))")
                }
                repos[name] = nil
                try FileSystem.syncDirectory(path + "/repos")
                try? FileManager.default.removeItem(atPath: aside)
            }
        }
    }
}
