import Foundation
import TrellisCore
import TrellisCrypto

/// The merge-throughput workloads of `trellis bench merge` and Benchmarks/Merge. One merge is
/// the whole job a store does for two heads: the lowest-common-ancestor search, the merge of
/// the documents and the creation (encoding and hashing) of the merge commit.
public struct MergeWorkload: Sendable {
    /// What `trellis bench merge --workload` calls it: records, text or counters.
    public let id: String
    public let name: String
    public let base: Document
    public let ours: Document
    public let theirs: Document
    let graph: MemoryCommitGraph
    let heads: [CommitID]

    init(id: String, name: String, base: Document, ours: Document, theirs: Document) throws {
        self.id = id
        self.name = name
        self.base = base
        self.ours = ours
        self.theirs = theirs
        let key = try SigningKey(seed: [UInt8](repeating: 7, count: 32))
        func commit(_ doc: Document, _ parents: [CommitID], _ wall: UInt64) -> SignedCommit {
            SignedCommit.sign(Commit(kind: .put, repository: "bench", key: "record", parents: parents,
                                     timestamp: HLCTimestamp(wallMillis: wall, logical: 0), author: nil, document: doc), with: key)
        }
        let root = commit(base, [], 1), a = commit(ours, [root.id], 2), b = commit(theirs, [root.id], 3)
        var graph = MemoryCommitGraph()
        for c in [root, a, b] { graph.add(c) }
        self.graph = graph
        heads = [a.id, b.id]
    }

    /// Runs one merge and returns the merge commit's id.
    public func mergeOnce() throws(TrellisError) -> CommitID {
        let outcome = try HeadMerge.mergeCommit(repository: "bench", key: "record", heads: heads, source: graph)
        return SignedCommit.merge(outcome.commit).id
    }

    /// The ids of `all()`, in its order.
    public static let ids = ["records", "text", "counters"]

    /// The three workloads of issue 3.
    public static func all() throws -> [MergeWorkload] {
        [try tenFields(), try fiftyLineText(), try setsAndCounters()]
    }

    /// A 10-field record; each side edits different fields.
    public static func tenFields() throws -> MergeWorkload {
        var base = Document()
        for n in 0..<10 {
            base["field\(n)"] = n % 3 == 0 ? .string("value \(n) of the record") : n % 3 == 1 ? .int(Int64(n * 1000)) : .bool(n % 2 == 0)
        }
        var ours = base, theirs = base
        for n in [0, 1, 2] { ours["field\(n)"] = .string("ours changed \(n)") }
        for n in [6, 7, 8] { theirs["field\(n)"] = .string("theirs changed \(n)") }
        return try MergeWorkload(id: "records", name: "10-field record, disjoint edits", base: base, ours: ours, theirs: theirs)
    }

    /// Three versions of one text: the base and two concurrent edits of it.
    public struct TextVersions: Sendable {
        public let base: String
        public let ours: String
        public let theirs: String
    }

    /// The text of the 50-line workload, also written out for `git merge-file`.
    public static func fiftyLines() -> TextVersions {
        var lines = (0..<50).map { "Line \($0) of a fifty-line note, with some words in it.\n" }
        let base = lines.joined()
        lines[8] = "Line 8 was rewritten on our side.\n"
        lines.insert("A line we inserted after line 20.\n", at: 21)
        let ours = lines.joined()
        lines = (0..<50).map { "Line \($0) of a fifty-line note, with some words in it.\n" }
        lines[40] = "Line 40 was rewritten on their side.\n"
        lines.remove(at: 45)
        return TextVersions(base: base, ours: ours, theirs: lines.joined())
    }

    /// A record whose 50-line text field each side edits at different places.
    public static func fiftyLineText() throws -> MergeWorkload {
        let t = fiftyLines()
        let doc = { (text: String) in Document([("title", .string("notes")), ("body", .text(text))]) }
        return try MergeWorkload(id: "text", name: "50-line text, non-overlapping edits", base: doc(t.base), ours: doc(t.ours), theirs: doc(t.theirs))
    }

    /// Five counters and five sets, changed on both sides.
    public static func setsAndCounters() throws -> MergeWorkload {
        var base = Document(), ours = Document(), theirs = Document()
        for n in 0..<5 {
            base["count\(n)"] = .counter(100)
            ours["count\(n)"] = .counter(100 + Int64(n))
            theirs["count\(n)"] = .counter(100 - Int64(n) - 1)
            let elements = (0..<10).map { Value.string("tag-\(n)-\($0)") }
            base["set\(n)"] = .set(elements)
            ours["set\(n)"] = .set(Array(elements.dropFirst()) + [.string("ours-\(n)")])
            theirs["set\(n)"] = .set(Array(elements.dropLast()) + [.string("theirs-\(n)")])
        }
        return try MergeWorkload(id: "counters", name: "sets and counters", base: base, ours: ours, theirs: theirs)
    }

    /// Merges for about `seconds` and returns merges per second.
    public func measure(seconds: Double) throws(TrellisError) -> Double {
        try mergeRate(seconds: seconds) { () throws(TrellisError) in _ = try mergeOnce() }
    }
}

/// Runs `merge` in rounds of 256 for about `seconds` and returns merges per second.
func mergeRate(seconds: Double, _ merge: () throws(TrellisError) -> Void) throws(TrellisError) -> Double {
    var count = 0
    let start = DispatchTime.now().uptimeNanoseconds
    let budget = UInt64(seconds * 1e9)
    var elapsed: UInt64 = 0
    repeat {
        for _ in 0..<256 { try merge() }
        count += 256
        elapsed = DispatchTime.now().uptimeNanoseconds - start
    } while elapsed < budget
    return Double(count) / (Double(elapsed) / 1e9)
}

/// A user's own merges to measure (`trellis bench merge --store S REPO`): the parents of every
/// merge commit in a repository's history and the heads of every record that has several now,
/// replayed from a copy of those records' histories in memory. Each replay is a whole merge, as
/// in `MergeWorkload`; replaying a stored merge commit must give that commit again.
public struct MergeReplay: Sendable {
    public struct Case: Sendable {
        public let key: String
        public let heads: [CommitID]
        /// The merge commit the store holds for these heads, if it wrote one.
        public let stored: CommitID?
    }

    public let repository: String
    public let cases: [Case]
    let graph: MemoryCommitGraph

    /// The newest `limit` cases of the repository: merge commits newest first, then records
    /// with several heads. Reads only the histories of the records involved.
    public init(_ repository: Repository, limit: Int = 1000) throws(TrellisError) {
        self.repository = repository.name
        var cases: [Case] = []
        for c in try repository.log(LogQuery()) where c.kind.isMerge && cases.count < limit {
            cases.append(Case(key: c.key, heads: c.parents, stored: c.id))
        }
        for (key, heads) in try repository.recordsWithSeveralHeads() where cases.count < limit {
            cases.append(Case(key: key, heads: heads.map(\.id), stored: nil))
        }
        var graph = MemoryCommitGraph()
        var copied = Set<String>()
        for key in cases.map(\.key) where copied.insert(key).inserted {
            // Oldest first, so that every parent is in the graph before its children.
            for info in try repository.history(key).sorted(by: { $0.generation < $1.generation }) {
                graph.add(try repository.store.commit(info.id))
            }
        }
        self.cases = cases
        self.graph = graph
    }

    /// Merges every case once; returns the ids of the merge commits, in the order of `cases`.
    public func mergeAll() throws(TrellisError) -> [CommitID] {
        try cases.map { c throws(TrellisError) in try merge(c) }
    }

    /// Stored merge commits that replaying did not give again (always 0 in a store fsck accepts).
    public func mismatches() throws(TrellisError) -> Int {
        zip(cases, try mergeAll()).filter { c, replayed in c.stored.map { $0 != replayed } ?? false }.count
    }

    /// Merges the cases in turn for about `seconds` and returns merges per second.
    public func measure(seconds: Double) throws(TrellisError) -> Double {
        guard !cases.isEmpty else { throw TrellisError(.notFound, "repository '\(repository)' has no merge commits and no record with several heads to replay") }
        var next = 0
        return try mergeRate(seconds: seconds) { () throws(TrellisError) in
            _ = try merge(cases[next])
            next = next + 1 == cases.count ? 0 : next + 1
        }
    }

    private func merge(_ c: Case) throws(TrellisError) -> CommitID {
        let outcome = try HeadMerge.mergeCommit(repository: repository, key: c.key, heads: c.heads, source: graph)
        return SignedCommit.merge(outcome.commit).id
    }
}
