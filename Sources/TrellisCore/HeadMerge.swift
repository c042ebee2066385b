/// What a merge of several heads needs from the store: the graph and each commit's version.
package protocol MergeSource: CommitGraph {
    func side(of id: CommitID) throws(TrellisError) -> MergeSide
}

/// Merges any number of heads of one record into one deterministic merge commit (docs/merge.md).
package enum HeadMerge {
    package struct Outcome: Sendable {
        package var commit: Commit
        package var conflicts: [MergeConflict]
    }

    /// The merge commit of `heads`: author-less, parents sorted, timestamp = the heads' maximum.
    package static func mergeCommit(repository: String, key: String, heads: [CommitID],
                                   source: some MergeSource) throws(TrellisError) -> Outcome {
        let (merged, conflicts) = try fold(heads, source: source)
        let commit = Commit(
            kind: merged.document == nil ? .mergeDelete : .merge, repository: repository, key: key, parents: heads,
            timestamp: merged.timestamp, author: nil, document: merged.document)
        return Outcome(commit: commit, conflicts: conflicts)
    }

    /// Heads are merged oldest first (by timestamp, then id); each step merges the result so
    /// far with the next head against their lowest common ancestors.
    static func fold(_ ids: [CommitID], source: some MergeSource) throws(TrellisError) -> (MergeSide, [MergeConflict]) {
        if ids.count == 2 { return try foldTwo(ids[0], ids[1], source: source) }
        var sides: [MergeSide] = []
        sides.reserveCapacity(ids.count)
        for id in ids { sides.append(try source.side(of: id)) }
        sides.sort { MergeSide.isNewer($1, than: $0) }
        // A head named twice sorts next to itself (the order ends on the id): keep one.
        var kept = 0
        for n in sides.indices where kept == 0 || sides[n].id != sides[kept - 1].id {
            sides[kept] = sides[n]
            kept += 1
        }
        sides.removeSubrange(kept...)
        guard var merged = sides.first else {
            throw TrellisError(.invalidArgument, "a merge needs at least one head")
        }
        var conflicts: [MergeConflict] = []
        let order = sides.map(\.id)
        for n in sides.indices.dropFirst() {
            let next = sides[n]
            // Everything merged so far against the next head.
            let (base, baseConflicts) = try base(order[..<n], order[n...n], source: source)
            let result = DocumentMerge.merge(base: base, merged, next)
            // Conflicts resolved while building a virtual base count too: their outcome shows.
            if !baseConflicts.isEmpty { conflicts += baseConflicts }
            if !result.conflicts.isEmpty { conflicts += result.conflicts }
            // The result stands for the newest head merged so far, which `next` is.
            merged = MergeSide(document: result.document, timestamp: next.timestamp, id: next.id)
        }
        return (merged, conflicts)
    }

    /// `fold` of two heads, the usual merge, without the arrays the general case sorts.
    private static func foldTwo(_ x: CommitID, _ y: CommitID, source: some MergeSource) throws(TrellisError) -> (MergeSide, [MergeConflict]) {
        let a = try source.side(of: x), b = try source.side(of: y)
        guard a.id != b.id else { return (a, []) }
        let (older, newer) = MergeSide.isNewer(a, than: b) ? (b, a) : (a, b)
        let (base, baseConflicts) = if let nearby = try MergeBase.nearby(older.id, newer.id, in: source), nearby.count == 1 {
            (try source.side(of: nearby[0]).document, [MergeConflict]())
        } else {
            try base([older.id], [newer.id], source: source, nearbyChecked: true)
        }
        let result = DocumentMerge.merge(base: base, older, newer)
        let conflicts = baseConflicts.isEmpty ? result.conflicts : baseConflicts + result.conflicts
        return (MergeSide(document: result.document, timestamp: newer.timestamp, id: newer.id), conflicts)
    }

    /// The base of a merge: the one lowest common ancestor's version, the empty document when
    /// there is none (two roots), or several ancestors merged recursively into a virtual base.
    package static func baseDocument(_ left: [CommitID], _ right: [CommitID], source: some MergeSource) throws(TrellisError) -> Document? {
        try base(left[...], right[...], source: source).document
    }

    static func base(_ left: ArraySlice<CommitID>, _ right: ArraySlice<CommitID>, source: some MergeSource,
                     nearbyChecked: Bool = false) throws(TrellisError) -> (document: Document?, conflicts: [MergeConflict]) {
        let ancestors = try MergeBase.lowestCommonAncestors(left, right, in: source, nearbyChecked: nearbyChecked)
        switch ancestors.count {
        case 0: return (nil, [])
        case 1: return (try source.side(of: ancestors[0]).document, [])
        default:
            let (side, conflicts) = try fold(ancestors, source: source)
            return (side.document, conflicts)
        }
    }
}
