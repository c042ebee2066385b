#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrellisCore
import TrellisCrypto

// Writes: commits built from requests, merges of several heads, and the creation of
// repositories.
extension StorageEngine {
    /// The commits a write collects before they go to disk: one frame per repository.
    struct Batch {
        var staged: [String: [SignedCommit]] = [:]
        var created: [String] = []
        /// This store's own new commits, signed when the batch is written. Received commits
        /// that a later one covers stay without a signature.
        var toSign: Set<CommitID> = []

        /// Adds a commit to the index (readable at once, inside the batch) and to its frame.
        mutating func stage(_ commit: SignedCommit, in index: RepositoryIndex) throws(TrellisError) {
            if let damage = index.damage {
                throw TrellisError(.corruptData,
                    "repository '\(index.name)' is damaged (\(damage)); writes are refused until `trellis fsck --repair`, so that no record restarts from a lost version")
            }
            if try index.add(pending: commit, frameOffset: index.log.validEnd) {
                staged[index.name, default: []].append(commit)
            }
        }
    }

    /// Writes the changes in one durable batch per repository: one frame, one fsync.
    /// Returns the new commits in request order once they are on disk.
    @discardableResult
    package func write(_ requests: [WriteRequest]) throws(TrellisError) -> [CommitInfo] {
        try writeBatch { (batch: inout Batch) throws(TrellisError) in
            var results: [CommitInfo] = []
            for request in requests { results.append(try stage(request, into: &batch)) }
            return results
        }
    }

    /// Builds a request's commit from the current state (earlier requests of the batch
    /// included) and stages it; the caller is the group leader, under `mutex`.
    func stage(_ request: WriteRequest, into batch: inout Batch) throws(TrellisError) -> CommitInfo {
        let (index, isNew) = try repositoryForWriting(request.repository, mustExist: request.needsExistingRecord)
        if isNew { batch.created.append(request.repository) }
        // A change on top of several heads builds on their merge, written in the same frame.
        if request.parents == nil, let merge = try index.mergeCommit(request.key) {
            try batch.stage(merge, in: index)
        }
        let commit = try index.makeCommit(request, clock: &clock, physicalMillis: FileSystem.nowMillis(), author: try signingKey())
        try batch.stage(commit, in: index)
        batch.toSign.insert(commit.id)
        return try indexInfo(index, commit.id)
    }

    /// Runs `body` as one write transaction (`EngineTransaction`): its reads see its own
    /// writes, and all of its writes commit together, one frame per repository and one fsync,
    /// or none do. `body` runs under the write lock, possibly on another writer's thread.
    package func transaction<T: Sendable>(_ body: @Sendable (EngineTransaction) throws(TrellisError) -> T) throws(TrellisError) -> T {
        try writeBatch { (batch: inout Batch) throws(TrellisError) in
            let staging = FileStaging(engine: self)
            let tx = EngineTransaction(staging)
            defer {
                // Also when `body` throws: what it staged is then rolled back with the batch.
                batch = staging.batch
                tx.closed = true
            }
            return try body(tx)
        }
    }

    /// Merges a key's heads into one merge commit, written durably, and returns the single head.
    /// Two stores holding the same heads write byte-identical merge commits.
    @discardableResult
    package func mergeHeads(_ repo: String, _ key: String) throws(TrellisError) -> CommitInfo {
        let heads = try self.heads(repo, key)
        guard heads.count > 1 else { return heads[0] }
        return try writeBatch { (batch: inout Batch) throws(TrellisError) in
            // Already caught up under the write lock; `repository(_:)` would look again without it.
            guard let index = repos[repo] else { throw TrellisError(.notFound, "unknown repository '\(repo)'") }
            if let merge = try index.mergeCommit(key) { try batch.stage(merge, in: index) }
            // safe: the key had heads before, and a merge only replaces them with one.
            return try index.heads(of: key)[0]
        }
    }

    /// Writes one merge commit for each record of `repo` with several heads, in one batch.
    package func mergeAllHeads(_ repo: String) throws(TrellisError) -> [CommitInfo] {
        _ = try withIndex(repo) { _ in () }  // unknown repository: a clear error
        return try writeBatch { (batch: inout Batch) throws(TrellisError) in
            guard let index = repos[repo] else { throw TrellisError(.notFound, "unknown repository '\(repo)'") }
            var out: [CommitInfo] = []
            for key in index.keysWithSeveralHeads() {
                if let merge = try index.mergeCommit(key) {
                    try batch.stage(merge, in: index)
                    out.append(try indexInfo(index, merge.id))
                }
            }
            return out
        }
    }

    func indexInfo(_ index: RepositoryIndex, _ id: CommitID) throws(TrellisError) -> CommitInfo {
        guard let info = try index.info(id) else { throw TrellisError(.corruptData, "commit \(id.short) vanished from the index") }
        return info
    }

    /// The repository's index, creating the repository when it does not exist (true when new).
    func repositoryForWriting(_ name: String, mustExist: Bool) throws(TrellisError) -> (RepositoryIndex, Bool) {
        try StorageEngine.checkRepositoryName(name)
        if let index = repos[name] { return (index, false) }
        let dir = repoDirectory(name)
        var isNew = false
        if !FileSystem.exists(dir + "/log") {
            guard !mustExist else { throw TrellisError(.notFound, "unknown repository '\(name)'") }
            try createRepositoryDirectory(name)
            isNew = true
        }
        return (try loadRepository(name), isNew)
    }

    /// Builds the repository aside (`repos/.new-NAME-PID`, which no reader lists) and renames
    /// it into place, so that a repository is either absent or whole, whenever a crash or a
    /// full disk interrupts. An empty directory in the way (half-made by an older version, or
    /// made by hand) is replaced; anything else in it is left alone and the write refused.
    func createRepositoryDirectory(_ name: String) throws(TrellisError) {
        let dir = repoDirectory(name)
        let aside = path + "/repos/.new-\(name)-\(getpid())"
        FileSystem.removeFlatDirectory(aside)
        do throws(TrellisError) {
            try FileSystem.makeDirectory(aside)
            try LogFile.create(path: aside + "/log")
            try FileSystem.syncDirectory(aside)
        } catch {
            FileSystem.removeFlatDirectory(aside)
            throw error
        }
        if rename(aside, dir) != 0 {
            let reason = errno
            FileSystem.removeFlatDirectory(aside)
            if reason == ENOTEMPTY || reason == EEXIST {
                throw TrellisError(.corruptData,
                    "\(dir) exists but holds no log: it is not a repository; move it away to create '\(name)'")
            }
            throw TrellisError(.io, "cannot create repository \(dir): \(String(cString: strerror(reason)))")
        }
        try FileSystem.syncDirectory(path + "/repos")
    }

    func removeEmptyRepository(_ name: String) {
        repos[name] = nil
        let dir = repoDirectory(name)
        unlink(dir + "/log")
        rmdir(dir)
        try? FileSystem.syncDirectory(path + "/repos")
    }
}
