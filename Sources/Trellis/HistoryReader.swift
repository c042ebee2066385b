import HeapModule
import TrellisCore
import TrellisStorage

/// Reads a repository's history for one question (a log, a diff, a blame): commit metadata and
/// documents, each read from the engine once and kept for the rest of the question. It is also
/// the commit graph the merge rules read, so a record's state at a past time, with several
/// heads then, merges exactly as the engine would merge it (docs/history.md).
final class HistoryReader: MergeSource {
    let repository: String
    private let engine: any RecordStore
    private var infos: [CommitID: CommitInfo] = [:]
    private var documents: [CommitID: Document?] = [:]

    init(_ repository: String, engine: any RecordStore) {
        (self.repository, self.engine) = (repository, engine)
    }

    func info(_ id: CommitID) throws(TrellisError) -> CommitInfo {
        if let i = infos[id] { return i }
        let i = try engine.info(id)
        infos[id] = i
        return i
    }

    /// A commit's document; nil for a tombstone.
    func document(_ id: CommitID) throws(TrellisError) -> Document? {
        if let d = documents[id] { return d }
        let d = try engine.commit(id).commit.document
        documents[id] = d
        return d
    }

    func parents(of id: CommitID) throws(TrellisError) -> [CommitID] { try info(id).parents }
    func generation(of id: CommitID) throws(TrellisError) -> UInt32 { try info(id).generation }
    func side(of id: CommitID) throws(TrellisError) -> MergeSide {
        MergeSide(document: try document(id), timestamp: try info(id).timestamp, id: id)
    }

    /// The newest parent of a commit (the one `changes(in:)` and `log` compare against).
    func newestParent(of c: CommitInfo) throws(TrellisError) -> CommitInfo? {
        var newest: CommitInfo?
        for p in c.parents {
            let i = try info(p)
            if newest.map({ CommitInfo.newerFirst(i, $0) }) ?? true { newest = i }
        }
        return newest
    }

    /// The record's heads as of a point: the newest commits of the record it includes that no
    /// other such commit descends from. A parent always comes before its children in log
    /// order, so these are found by walking down from today's heads only past newer commits.
    func heads(of heads: [CommitInfo], asOf point: HistoryPoint) throws(TrellisError) -> [CommitInfo] {
        if heads.allSatisfy(point.includes) { return heads }
        var frontier: [CommitID: CommitInfo] = [:]
        var stack = heads
        var seen = Set(heads.map(\.id))
        while let c = stack.popLast() {
            if point.includes(c) { frontier[c.id] = c; continue }
            for p in c.parents where seen.insert(p).inserted { stack.append(try info(p)) }
        }
        guard frontier.count > 1 else { return Array(frontier.values) }
        // Drop a frontier commit that another one descends from.
        let lowest = frontier.values.map(\.generation).min() ?? 0
        var below = Set<CommitID>()
        var walk = Array(frontier.values.flatMap(\.parents))
        while let id = walk.popLast() {
            guard below.insert(id).inserted else { continue }
            let i = try info(id)
            if i.generation > lowest { walk.append(contentsOf: i.parents) }
        }
        return frontier.values.filter { !below.contains($0.id) }.sorted(by: CommitInfo.newerFirst)
    }

    /// The document those heads stand for: one head's own, or several merged in memory as reads
    /// merge them. nil when there are none (the record did not exist) or the result deletes it.
    func document(ofHeads heads: [CommitInfo], key: String) throws(TrellisError) -> Document? {
        switch heads.count {
        case 0: return nil
        case 1: return try document(heads[0].id)
        default: return try HeadMerge.mergeCommit(repository: repository, key: key, heads: heads.map(\.id), source: self).commit.document
        }
    }

    /// Commits newest first (`CommitInfo.newerFirst`), walking down from `starts`: each commit
    /// comes out after every commit that descends from it. `visit` returns false to stop.
    func walkNewestFirst(from starts: [CommitInfo], _ visit: (CommitInfo) throws(TrellisError) -> Bool) throws(TrellisError) {
        // The heap holds plain sort keys and a place in `pool`, not the infos (which hold
        // strings and arrays): a repository-wide log starts from every record's head.
        var pool = starts
        var queue = Heap(starts.indices.map { Newest(starts[$0], slot: $0) })
        var seen = Set(starts.map(\.id))
        while let next = queue.popMax() {
            let c = pool[next.slot]
            guard try visit(c) else { return }
            for p in c.parents where seen.insert(p).inserted {
                pool.append(try info(p))
                queue.insert(Newest(pool[pool.count - 1], slot: pool.count - 1))
            }
        }
    }

    private struct Newest: Comparable {
        let timestamp: HLCTimestamp
        let generation: UInt32
        let id: CommitID
        let slot: Int
        init(_ info: CommitInfo, slot: Int) {
            (timestamp, generation, id, self.slot) = (info.timestamp, info.generation, info.id, slot)
        }
        /// `CommitInfo.newerFirst`, reversed: the heap's maximum is the newest.
        static func < (a: Newest, b: Newest) -> Bool {
            if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
            if a.generation != b.generation { return a.generation < b.generation }
            return a.id < b.id
        }
        static func == (a: Newest, b: Newest) -> Bool { a.id == b.id }
    }
}
