#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import TrellisCore
import TrellisCrypto

// Writes: commits built from requests, merges of several heads, verified receipt of commits
// made elsewhere, and the creation of repositories.
extension StorageEngine {
    /// The commits a write collects before they go to disk: one frame per repository.
    struct Batch {
        var staged: [String: [SignedCommit]] = [:]
        var created: [String] = []

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
    public func write(_ requests: [WriteRequest]) throws(TrellisError) -> [CommitInfo] {
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
        if request.parents == nil, let merge = try mergeCommit(index, request.key) {
            try batch.stage(merge, in: index)
        }
        let commit = try makeCommit(request, index: index)
        try batch.stage(commit, in: index)
        return try indexInfo(index, commit.id)
    }

    /// Runs `body` as one write transaction (`EngineTransaction`): its reads see its own
    /// writes, and all of its writes commit together, one frame per repository and one fsync,
    /// or none do. `body` runs under the write lock, possibly on another writer's thread.
    public func transaction<T: Sendable>(_ body: @Sendable (EngineTransaction) throws(TrellisError) -> T) throws(TrellisError) -> T {
        try writeBatch { (batch: inout Batch) throws(TrellisError) in
            let tx = EngineTransaction(engine: self)
            defer {
                // Also when `body` throws: what it staged is then rolled back with the batch.
                batch = tx.batch
                tx.closed = true
            }
            return try body(tx)
        }
    }

    /// The merge commit of a key's heads, or nil when it has one head.
    func mergeCommit(_ index: RepositoryIndex, _ key: String) throws(TrellisError) -> SignedCommit? {
        let heads = try index.heads(of: key)
        guard heads.count > 1 else { return nil }
        let outcome = try HeadMerge.mergeCommit(repository: index.name, key: key, heads: heads.map(\.id), source: index)
        return SignedCommit.merge(outcome.commit)
    }

    /// Merges a key's heads into one merge commit, written durably, and returns the single head.
    /// Two stores holding the same heads write byte-identical merge commits.
    @discardableResult
    public func mergeHeads(_ repo: String, _ key: String) throws(TrellisError) -> CommitInfo {
        let heads = try self.heads(repo, key)
        guard heads.count > 1 else { return heads[0] }
        return try writeBatch { (batch: inout Batch) throws(TrellisError) in
            // Already caught up under the write lock; `repository(_:)` would look again without it.
            guard let index = repos[repo] else { throw TrellisError(.notFound, "unknown repository '\(repo)'") }
            if let merge = try mergeCommit(index, key) { try batch.stage(merge, in: index) }
            // safe: the key had heads before, and a merge only replaces them with one.
            return try index.heads(of: key)[0]
        }
    }

    /// Writes one merge commit for each record of `repo` with several heads, in one batch.
    public func mergeAllHeads(_ repo: String) throws(TrellisError) -> [CommitInfo] {
        _ = try withIndex(repo) { _ in () }  // unknown repository: a clear error
        return try writeBatch { (batch: inout Batch) throws(TrellisError) in
            guard let index = repos[repo] else { throw TrellisError(.notFound, "unknown repository '\(repo)'") }
            var out: [CommitInfo] = []
            for key in index.keysWithSeveralHeads() {
                if let merge = try mergeCommit(index, key) {
                    try batch.stage(merge, in: index)
                    out.append(try indexInfo(index, merge.id))
                }
            }
            return out
        }
    }

    /// Stores commits made elsewhere, all or nothing. Each is re-hashed and its signature checked;
    /// each merge commit is recomputed from its parents and must match byte for byte. Parents must
    /// be stored already or come earlier in the batch.
    public func receive(_ commits: [SignedCommit]) throws(TrellisError) {
        try receive(encoded: commits.map { ($0.encoded, $0.signature) })
    }

    /// Batches at least this large are verified on every core (about 18 ms of Ed25519 work).
    static let parallelVerifyMinimum = 256

    /// `receive` for commits as they travel: encodings and signatures, verified here.
    public func receive(encoded commits: [(encoded: [UInt8], signature: [UInt8])]) throws(TrellisError) {
        // Hashes, decoding and signatures depend on nothing stored: checked first, on every core,
        // without the lock, so that other sessions keep reading while a large push is verified.
        // Small batches (most pushes) are checked in line: spreading them costs more than it saves.
        let check = { @Sendable (c: (encoded: [UInt8], signature: [UInt8])) in
            Result { () throws(TrellisError) in try SignedCommit.verify(encoded: c.encoded, signature: c.signature) }
        }
        let checked = commits.count >= Self.parallelVerifyMinimum ? Parallel.map(commits, check) : commits.map(check)
        var verifiedCommits: [SignedCommit] = []
        verifiedCommits.reserveCapacity(checked.count)
        for result in checked { verifiedCommits.append(try result.get()) }
        try writeBatch { [verifiedCommits] (batch: inout Batch) throws(TrellisError) in
            for verified in verifiedCommits {
                try StorageEngine.checkKey(verified.commit.key)
                let (index, isNew) = try repositoryForWriting(verified.commit.repository, mustExist: false)
                if isNew { batch.created.append(index.name) }
                guard !index.contains(verified.id) else { continue }
                for p in verified.commit.parents {
                    guard let parent = try index.info(p), parent.key == verified.commit.key else {
                        throw TrellisError(.notFound, "commit \(verified.id.short) names a parent \(p.short) that is not stored")
                    }
                }
                if verified.commit.kind.isMerge {
                    let recomputed = try HeadMerge.mergeCommit(
                        repository: index.name, key: verified.commit.key, heads: verified.commit.parents, source: index)
                    guard recomputed.commit.encoded() == verified.encoded else {
                        throw TrellisError(.badSignature, "merge commit \(verified.id.short) does not match the merge of its parents")
                    }
                }
                clock.observe(verified.commit.timestamp)
                try batch.stage(verified, in: index)
            }
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

    func makeCommit(_ request: WriteRequest, index: RepositoryIndex) throws(TrellisError) -> SignedCommit {
        try StorageEngine.checkKey(request.key)
        let parents: [CommitID]
        let base: Document?
        if let explicit = request.parents {
            for p in explicit {
                guard let info = try index.info(p), info.key == request.key else {
                    throw TrellisError(.notFound, "parent \(p.short) is not a commit of '\(request.key)' in repository '\(index.name)'")
                }
            }
            parents = explicit
            // Several explicit parents: the new version builds on their merge.
            base = explicit.count == 1
                ? try index.document(of: explicit[0])
                : try HeadMerge.mergeCommit(repository: index.name, key: request.key, heads: explicit, source: index).commit.document
        } else if let (head, doc) = try index.current(request.key) {
            parents = [head.id]
            base = doc
        } else {
            parents = []
            base = nil
        }
        let kind: Commit.Kind
        let document: Document?
        switch request.change {
        case .put(let d):
            kind = .put
            document = d
        case .update(let f):
            kind = .put
            document = try f(base)
        case .delete:
            guard base != nil else {
                throw TrellisError(.notFound, parents.isEmpty
                    ? "unknown key '\(request.key)' in repository '\(index.name)'"
                    : "'\(request.key)' in repository '\(index.name)' is already deleted")
            }
            kind = .delete
            document = nil
        }
        try document?.validate()
        let key = try signingKey()
        let commit = Commit(kind: kind, repository: index.name, key: request.key, parents: parents,
                            timestamp: clock.tick(physicalMillis: FileSystem.nowMillis()), author: key.publicKey,
                            document: document)
        return SignedCommit.unsigned(commit, author: key)
    }
}
