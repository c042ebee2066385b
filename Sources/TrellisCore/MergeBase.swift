import HeapModule

/// The commit graph as merge-base search needs it.
package protocol CommitGraph {
    /// The parents of a commit; empty for roots and for commits the graph does not hold.
    func parents(of id: CommitID) throws(TrellisError) -> [CommitID]
    /// 1 for a root, else 1 + the largest generation of the parents (as Git's commit-graph).
    func generation(of id: CommitID) throws(TrellisError) -> UInt32
}

/// Lowest common ancestors, found by painting down from both sides in order of decreasing
/// generation (Git's `paint_down_to_common`): the walk stops as soon as every commit still
/// queued is known to lie below a common ancestor, so it never visits older history.
package enum MergeBase {
    private struct Flags: OptionSet {
        let rawValue: UInt8
        static let left = Flags(rawValue: 1), right = Flags(rawValue: 2), stale = Flags(rawValue: 4), result = Flags(rawValue: 8)
        static let both: Flags = [.left, .right]
    }

    private struct Entry: Comparable {
        let generation: UInt32
        let id: CommitID
        static func < (a: Entry, b: Entry) -> Bool { (a.generation, a.id) < (b.generation, b.id) }
    }

    /// `nearbyChecked`: the caller already found that `nearby` has no answer for these two.
    package static func lowestCommonAncestors(_ left: ArraySlice<CommitID>, _ right: ArraySlice<CommitID>,
                                              in graph: some CommitGraph, nearbyChecked: Bool = false) throws(TrellisError) -> [CommitID] {
        if !nearbyChecked, left.count == 1, right.count == 1,
           let answer = try nearby(left[left.startIndex], right[right.startIndex], in: graph) {
            return answer
        }
        var flags: [CommitID: Flags] = [:]
        var queue = Heap<Entry>()
        for id in left {
            flags[id, default: []].insert(.left)
            queue.insert(Entry(generation: try graph.generation(of: id), id: id))
        }
        for id in right {
            flags[id, default: []].insert(.right)
            queue.insert(Entry(generation: try graph.generation(of: id), id: id))
        }
        var candidates: [CommitID] = []
        var nonStale = queue.count
        while nonStale > 0, let entry = queue.popMax() {
            let current = flags[entry.id] ?? []
            if !current.contains(.stale) { nonStale -= 1 }
            var paint = current.intersection([.left, .right, .stale])
            if paint == .both {
                if !current.contains(.result) {
                    flags[entry.id] = current.union(.result)
                    candidates.append(entry.id)
                }
                paint.insert(.stale)
            }
            for parent in try graph.parents(of: entry.id) {
                let had = flags[parent] ?? []
                guard !had.isSuperset(of: paint) else { continue }
                flags[parent] = had.union(paint)
                queue.insert(Entry(generation: try graph.generation(of: parent), id: parent))
                if !paint.contains(.stale) { nonStale += 1 }
            }
        }
        return try removeRedundant(candidates, in: graph).sorted()
    }

    /// The answer without a walk when it lies one step away: the same commit, one the parent of
    /// the other, or two commits with one parent each, the same one (two edits of one version,
    /// the usual merge). Any common ancestor of such commits is an ancestor of that parent.
    static func nearby(_ a: CommitID, _ b: CommitID, in graph: some CommitGraph) throws(TrellisError) -> [CommitID]? {
        if a == b { return [a] }
        let pa = try graph.parents(of: a), pb = try graph.parents(of: b)
        guard pa.count == 1, pb.count == 1 else { return nil }
        if pa[0] == pb[0] { return pa }
        if pb[0] == a { return [a] }
        if pa[0] == b { return [b] }
        return nil
    }

    /// Drops candidates that are ancestors of other candidates.
    static func removeRedundant(_ candidates: [CommitID], in graph: some CommitGraph) throws(TrellisError) -> [CommitID] {
        guard candidates.count > 1 else { return candidates }
        var kept: [CommitID] = []
        for c in candidates {
            var redundant = false
            for other in candidates where other != c {
                if try isAncestor(c, of: other, in: graph) { redundant = true; break }
            }
            if !redundant { kept.append(c) }
        }
        return kept
    }

    /// Whether `ancestor` is reachable from `id`; generations prune the walk.
    package static func isAncestor(_ ancestor: CommitID, of id: CommitID, in graph: some CommitGraph) throws(TrellisError) -> Bool {
        let floor = try graph.generation(of: ancestor)
        var stack = [id]
        var seen: Set<CommitID> = []
        while let c = stack.popLast() {
            if c == ancestor { return true }
            for p in try graph.parents(of: c) where try graph.generation(of: p) >= floor && seen.insert(p).inserted {
                stack.append(p)
            }
        }
        return false
    }
}
