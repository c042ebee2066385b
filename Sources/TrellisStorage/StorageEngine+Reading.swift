#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrellisCore
import TrellisCrypto

// Reads: records, history, commits, and what sync sessions read (docs/sync.md).
extension StorageEngine {
    package func repositoryNames() throws(TrellisError) -> [String] {
        try reading { () throws(TrellisError) in
            for name in try FileSystem.list(path + "/repos") where repos[name] == nil { loadIfPresent(name) }
            return repos.keys.sorted()
        }
    }

    package func allHeads(_ repo: String) throws(TrellisError) -> [CommitInfo] {
        try reading { () throws(TrellisError) in try repository(repo).allHeads() }
    }

    package func keys(in repo: String) throws(TrellisError) -> [String] {
        try reading { () throws(TrellisError) in try repository(repo).liveKeys() }
    }

    /// The repository's in-memory index, caught up (tests and maintenance).
    func withIndex<T>(_ repo: String, _ body: (RepositoryIndex) throws(TrellisError) -> T) throws(TrellisError) -> T {
        try reading { () throws(TrellisError) in try body(try repository(repo)) }
    }

    /// Counts and sizes of a repository; reads all of its history.
    package func stats(_ repo: String) throws(TrellisError) -> RepositoryStats {
        try reading { () throws(TrellisError) in try RepositoryStats.measure(try repository(repo)) }
    }

    /// The heads of a record, newest first. Throws when the key has never been written.
    package func heads(_ repo: String, _ key: String) throws(TrellisError) -> [CommitInfo] {
        try reading { () throws(TrellisError) in
            let heads = try repository(repo).heads(of: key)
            guard !heads.isEmpty else { throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repo)'") }
            return heads
        }
    }

    /// The newest head of a record and its document; the document is nil when that head deletes it.
    package func current(_ repo: String, _ key: String) throws(TrellisError) -> CurrentVersion {
        try reading { () throws(TrellisError) in
            guard let c = try repository(repo).current(key) else {
                throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repo)'")
            }
            return c
        }
    }

    /// The record's document as every peer holding its heads sees it: the newest head's, or,
    /// with several heads, their merge computed in memory (nothing is written). nil when deleted.
    package func merged(_ repo: String, _ key: String) throws(TrellisError) -> Document? {
        try reading { () throws(TrellisError) in
            let index = try repository(repo)
            guard let document = try index.mergedDocument(key) else {
                throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repo)'")
            }
            return document
        }
    }

    /// Commits newest first: of one key, or of the whole repository; at most `limit` of them.
    package func history(_ repo: String, key: String? = nil, limit: Int? = nil) throws(TrellisError) -> [CommitInfo] {
        try reading { () throws(TrellisError) in
            let index = try repository(repo)
            let infos: [CommitInfo]
            if let key {
                guard let found = try index.walkHistory(of: key) else {
                    throw TrellisError(.notFound, "unknown key '\(key)' in repository '\(repo)'")
                }
                infos = found
            } else {
                infos = try index.allCommits()
            }
            return CommitInfo.newestFirst(infos, limit: limit)
        }
    }

    /// A stored commit, read from its frame on disk.
    package func commit(_ id: CommitID) throws(TrellisError) -> SignedCommit {
        try reading { () throws(TrellisError) in try lookUp(id) { index throws(TrellisError) in try index.signedCommit(id) } }
    }

    package func info(_ id: CommitID) throws(TrellisError) -> CommitInfo {
        try reading { () throws(TrellisError) in try lookUp(id) { index throws(TrellisError) in try index.info(id) } }
    }

    package func infos(in repo: String, _ ids: [CommitID]) throws(TrellisError) -> [CommitInfo] {
        try reading { () throws(TrellisError) in try repository(repo).infos(ids) }
    }

    /// Finds a commit in what this process has read, or else after reading what other
    /// processes wrote since (into any repository, new ones included).
    func lookUp<T>(_ id: CommitID, _ find: (RepositoryIndex) throws(TrellisError) -> T?) throws(TrellisError) -> T {
        for index in repos.values { if let found = try find(index) { return found } }
        for name in try FileSystem.list(path + "/repos").sorted() {
            guard let index = try? existingRepository(name) else { continue }  // unreadable ones were reported
            if let found = try find(index) { return found }
        }
        throw TrellisError(.notFound, "unknown commit \(id.short)")
    }

    package func syncView(_ repo: String) throws(TrellisError) -> SyncView {
        try reading { () throws(TrellisError) in
            guard let index = try existingRepository(repo) else { return SyncView(seqEnd: 0, heads: []) }
            return SyncView(seqEnd: index.seqEnd, heads: index.allHeadIDs())
        }
    }

    /// Commits of a repository that arrived at or after arrival number `start`, parents first.
    func ids(in repo: String, arrivedSince start: UInt64) throws(TrellisError) -> [CommitID] {
        try arrivals(in: repo, since: start).ids
    }

    /// The same, with the arrival end they were read at (the next call can start there).
    package func arrivals(in repo: String, since start: UInt64) throws(TrellisError) -> Arrivals {
        try reading { () throws(TrellisError) in
            guard let index = try existingRepository(repo) else { return Arrivals(ids: [], end: 0) }
            return Arrivals(ids: try index.ids(arrivedSince: start), end: index.seqEnd)
        }
    }

    /// Which of these commits a repository holds, under one look at the store.
    package func stored(_ ids: Set<CommitID>, in repo: String) throws(TrellisError) -> Set<CommitID> {
        try reading { () throws(TrellisError) in
            guard let index = try existingRepository(repo) else { return [] }
            return ids.filter(index.contains)
        }
    }

    /// Stored commits of one repository, in the order asked.
    package func commits(in repo: String, _ ids: [CommitID]) throws(TrellisError) -> [SignedCommit] {
        try reading { () throws(TrellisError) in
            try repository(repo).signedCommits(ids)
        }
    }

    package func wireCommits(in repo: String, _ ids: [CommitID]) throws(TrellisError) -> [WireCommit] {
        try reading { () throws(TrellisError) in
            try repository(repo).wireCommits(ids)
        }
    }

    /// A full id from hex: all 64 digits, or a unique prefix of at least 4, as git accepts.
    package func resolve(_ text: String) throws(TrellisError) -> CommitID {
        let hex = try CommitID.hexPrefix(text)
        if hex.count == 64, let id = CommitID(hex: hex) {
            _ = try info(id)
            return id
        }
        return try reading { () throws(TrellisError) in
            var found: [CommitID] = []
            for index in repos.values { found += index.ids(withHexPrefix: hex) }
            return try CommitID.unique(found, prefix: text)
        }
    }

    /// The conflicts that each merge commit of a repository (or of one key) resolved, newest
    /// first. Merges are deterministic, so they are recomputed rather than stored.
    package func conflicts(_ repo: String, key: String? = nil) throws(TrellisError) -> [ResolvedMerge] {
        let merges = try history(repo, key: key, limit: nil)
        return try reading { () throws(TrellisError) in try repository(repo).resolvedMerges(merges) }
    }
}
