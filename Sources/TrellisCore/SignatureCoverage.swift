import TrellisCrypto

/// Which commits of a set must have their own signature checked (docs/format.md §Covered
/// signatures). An id hashes its parents' ids, so an author's signature over a commit also
/// vouches for every ancestor's bytes: an ancestor **by the same author** needs no signature of
/// its own. A commit is *covered* when a descendant in the set by its author is authenticated
/// (its own signature checked, or covered in turn).
public enum SignatureCoverage {
    /// What one commit needs.
    public enum Need: Equatable, Sendable {
        /// No author: a merge, verified by recomputing it.
        case recompute
        /// Its own signature must be checked.
        case verify
        /// A descendant by its author vouches for it: any signature it carries is redundant.
        case covered
        /// An author but no signature, and nothing in the set covers it.
        case missing
    }

    public struct Item: Sendable {
        public let id: CommitID
        public let author: PublicKey?
        public let parents: [CommitID]
        public let hasSignature: Bool

        public init(id: CommitID, author: PublicKey?, parents: [CommitID], hasSignature: Bool) {
            (self.id, self.author, self.parents, self.hasSignature) = (id, author, parents, hasSignature)
        }
    }

    /// The need of each item, in the items' order (any order: parents outside the set are
    /// ignored, a repeated id counts once, at its first place). Linear in the items and edges.
    public static func plan(_ items: [Item]) -> [Need] {
        var position: [CommitID: Int] = [:]
        position.reserveCapacity(items.count)
        for (i, item) in items.enumerated() where position[item.id] == nil { position[item.id] = i }
        // Children before parents: a commit is settled once all of its children in the set are.
        var children = [Int](repeating: 0, count: items.count)
        var parentsInSet = [[Int]](repeating: [], count: items.count)
        for (i, item) in items.enumerated() where position[item.id] == i {
            for p in item.parents {
                guard let j = position[p], j != i else { continue }
                parentsInSet[i].append(j)
                children[j] += 1
            }
        }
        // Authored commits left unsettled (only a cycle, which ids cannot form) stay missing.
        var needs = items.map { $0.author == nil ? Need.recompute : Need.missing }
        // The authors vouching for each commit (almost always zero or one key).
        var vouching = [[PublicKey]](repeating: [], count: items.count)
        var ready = items.indices.filter { position[items[$0].id] == $0 && children[$0] == 0 }
        while let i = ready.popLast() {
            var passed = vouching[i]
            if let author = items[i].author {
                if passed.contains(author) {
                    needs[i] = .covered
                } else if items[i].hasSignature {
                    needs[i] = .verify
                    passed.append(author)
                } else {
                    needs[i] = .missing
                }
            }
            for j in parentsInSet[i] {
                for key in passed where !vouching[j].contains(key) { vouching[j].append(key) }
                children[j] -= 1
                if children[j] == 0 { ready.append(j) }
            }
            vouching[i] = []
        }
        for (i, item) in items.enumerated() where position[item.id] != i {
            needs[i] = needs[position[item.id] ?? i]
        }
        return needs
    }
}
