import TrellisCore
import TrellisCrypto

/// One repository as reads and writes see it, whatever holds its commits: the rules that build
/// commits from requests, merge heads and check received commits are written once against this,
/// so that every engine computes byte-identical commits.
protocol RecordIndex: AnyObject, MergeSource {
    var name: String { get }
    func contains(_ id: CommitID) -> Bool
    func info(_ id: CommitID) throws(TrellisError) -> CommitInfo?
    /// A stored commit's document (nil for a tombstone); `.notFound` when it is not stored.
    func document(of id: CommitID) throws(TrellisError) -> Document?
    /// The same, for a head of `key`: an engine that holds heads by key finds it without an
    /// index of every head's id.
    func document(ofHead id: CommitID, key: String) throws(TrellisError) -> Document?
    /// The heads of a key, newest first (empty when it was never written).
    func heads(of key: String) throws(TrellisError) -> [CommitInfo]
    /// The newest head and its document.
    func current(_ key: String) throws(TrellisError) -> CurrentVersion?
}

extension RecordIndex {
    func document(ofHead id: CommitID, key: String) throws(TrellisError) -> Document? { try document(of: id) }

    /// The merge commit of a key's heads, or nil when it has one head.
    func mergeCommit(_ key: String) throws(TrellisError) -> SignedCommit? {
        let heads = try heads(of: key)
        guard heads.count > 1 else { return nil }
        return SignedCommit.merge(try HeadMerge.mergeCommit(repository: name, key: key, heads: heads.map(\.id), source: self).commit)
    }

    /// The merged document of a key's heads: nil when the key has never been written,
    /// `.some(nil)` when it is deleted.
    func mergedDocument(_ key: String) throws(TrellisError) -> Document?? {
        let heads = try heads(of: key)
        guard !heads.isEmpty else { return nil }
        guard heads.count > 1 else { return .some(try document(ofHead: heads[0].id, key: key)) }
        return .some(try HeadMerge.mergeCommit(repository: name, key: key, heads: heads.map(\.id), source: self).commit.document)
    }

    /// A key's commits, found by walking parents from its heads; nil for an unknown key.
    func walkHistory(of key: String) throws(TrellisError) -> [CommitInfo]? {
        let heads = try heads(of: key)
        guard !heads.isEmpty else { return nil }
        var stack = heads.map(\.id)
        var seen = Set(stack)
        var out: [CommitInfo] = []
        while let id = stack.popLast() {
            guard let i = try info(id) else { throw TrellisError(.corruptData, "commit \(id.short) of '\(key)' is missing") }
            out.append(i)
            for p in i.parents where seen.insert(p).inserted { stack.append(p) }
        }
        return out
    }

    /// The conflicts each of these merge commits resolved, recomputed (merges are deterministic).
    func resolvedMerges(_ merges: [CommitInfo]) throws(TrellisError) -> [ResolvedMerge] {
        var out: [ResolvedMerge] = []
        for m in merges where m.kind.isMerge {
            let outcome = try HeadMerge.mergeCommit(repository: name, key: m.key, heads: m.parents, source: self)
            if !outcome.conflicts.isEmpty { out.append(ResolvedMerge(merge: m, conflicts: outcome.conflicts)) }
        }
        return out
    }

    /// The commit a request makes on top of the current state, unsigned (the engine signs a
    /// batch at once). Explicit parents must be commits of the same key.
    func makeCommit(_ request: WriteRequest, clock: inout HybridLogicalClock, physicalMillis: UInt64,
                    author: SigningKey) throws(TrellisError) -> SignedCommit {
        try StorageEngine.checkKey(request.key)
        let parents: [CommitID]
        let base: Document?
        if let explicit = request.parents {
            for p in explicit {
                guard let info = try info(p), info.key == request.key else {
                    throw TrellisError(.notFound, "parent \(p.short) is not a commit of '\(request.key)' in repository '\(name)'")
                }
            }
            parents = explicit
            // Several explicit parents: the new version builds on their merge.
            base = explicit.count == 1
                ? try document(of: explicit[0])
                : try HeadMerge.mergeCommit(repository: name, key: request.key, heads: explicit, source: self).commit.document
        } else if let current = try current(request.key) {
            parents = [current.head.id]
            base = current.document
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
                    ? "unknown key '\(request.key)' in repository '\(name)'"
                    : "'\(request.key)' in repository '\(name)' is already deleted")
            }
            kind = .delete
            document = nil
        }
        try document?.validate()
        let commit = Commit(kind: kind, repository: name, key: request.key, parents: parents,
                            timestamp: clock.tick(physicalMillis: physicalMillis), author: author.publicKey,
                            document: document)
        return SignedCommit.unsigned(commit, author: author)
    }

    /// Checks a received commit, already re-hashed and signature-checked, against what is
    /// stored: its parents are commits of the same key, and a merge commit is the merge of its
    /// parents byte for byte.
    func checkReceived(_ verified: SignedCommit) throws(TrellisError) {
        try StorageEngine.checkKey(verified.commit.key)
        for p in verified.commit.parents {
            guard let parent = try info(p), parent.key == verified.commit.key else {
                throw TrellisError(.notFound, "commit \(verified.id.short) names a parent \(p.short) that is not stored")
            }
        }
        if verified.commit.kind.isMerge {
            let recomputed = try HeadMerge.mergeCommit(
                repository: name, key: verified.commit.key, heads: verified.commit.parents, source: self)
            guard recomputed.commit.encoded() == verified.encoded else {
                throw TrellisError(.badSignature, "merge commit \(verified.id.short) does not match the merge of its parents")
            }
        }
    }
}

extension SignedCommit {
    /// Re-hashes the commits as they travel and checks the signatures that no later commit of the
    /// batch covers (docs/format.md §Covered signatures), on every core for large batches; depends
    /// on nothing stored. Covered commits come back without a signature unless
    /// `keepingEverySignature` (format 1 stores), which checks and keeps every signature sent and
    /// refuses a commit that carries none.
    static func verifyAll(_ commits: [WireCommit], keepingEverySignature: Bool = false) throws(TrellisError) -> [SignedCommit] {
        let parallel = commits.count >= StorageEngine.parallelVerifyMinimum
        let decode = { @Sendable (c: WireCommit) in
            Result { () throws(TrellisError) in try SignedCommit.decoded(encoded: c.encoded, signature: c.signature) }
        }
        let decodedResults = parallel ? Parallel.map(commits, decode) : commits.map(decode)
        var decoded: [SignedCommit] = []
        decoded.reserveCapacity(decodedResults.count)
        for result in decodedResults { decoded.append(try result.get()) }
        let needs = SignatureCoverage.plan(decoded.map(\.coverageItem))
        var toCheck: [Int] = []
        for (i, need) in needs.enumerated() {
            switch need {
            case .recompute:
                try decoded[i].checkSignature()  // an author-less commit must be a merge, unsigned
            case .verify:
                toCheck.append(i)
            case .covered:
                if keepingEverySignature {
                    guard !decoded[i].signature.isEmpty else {
                        throw TrellisError(.badSignature, "commit \(decoded[i].id.short) has no signature of its own, which this format 1 store needs (run `trellis upgrade`)")
                    }
                    toCheck.append(i)
                } else if !decoded[i].signature.isEmpty {
                    decoded[i] = decoded[i].withoutSignature
                }
            case .missing:
                throw TrellisError(.badSignature, "commit \(decoded[i].id.short) has no signature, and no later commit by its author covers it")
            }
        }
        let check = { @Sendable (c: SignedCommit) in Result { () throws(TrellisError) in try c.checkSignature() } }
        let checking = toCheck.map { decoded[$0] }
        for result in toCheck.count >= StorageEngine.parallelVerifyMinimum ? Parallel.map(checking, check) : checking.map(check) {
            try result.get()
        }
        return decoded
    }
}
