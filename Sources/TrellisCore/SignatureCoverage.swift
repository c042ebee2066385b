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
        var authors = Numbering<PublicKey>()
        var graph = Graph(capacity: items.count)
        for (i, item) in items.enumerated() {
            let author = item.author.map { authors.number(of: $0) }
            // A repeated id stands alone: it takes its first place's need below.
            let parents = position[item.id] == i ? item.parents.compactMap { position[$0] } : []
            graph.append(author: author, hasSignature: item.hasSignature, parents: parents)
        }
        var needs = plan(graph)
        for (i, item) in items.enumerated() where position[item.id] != i {
            needs[i] = needs[position[item.id] ?? i]
        }
        return needs
    }

    /// Commits numbered from 0, each with its author by number and its parents in the set by
    /// number: what `plan(_:)` needs, held in a few flat arrays (a repack plans millions).
    public struct Graph: Sendable {
        /// Each commit's author by number, or -1 for none (a merge).
        public private(set) var authors: [Int32] = []
        public private(set) var hasSignature: [Bool] = []
        /// Commit i's parents are `parents[parentEnds[i - 1] ..< parentEnds[i]]` (from 0 for the first).
        private var parentEnds: [Int32] = []
        private var parents: [Int32] = []

        public init(capacity: Int = 0) {
            authors.reserveCapacity(capacity)
            hasSignature.reserveCapacity(capacity)
            parentEnds.reserveCapacity(capacity)
            parents.reserveCapacity(capacity)
        }

        public var count: Int { authors.count }

        /// Adds the next commit; `parents` are numbers of commits in the set (any order, earlier or later).
        public mutating func append(author: Int32?, hasSignature signed: Bool, parents ps: [Int]) {
            for p in ps { addParent(p) }
            append(author: author, hasSignature: signed)
        }

        /// The same one parent at a time: each parent of the next commit, then the commit.
        public mutating func addParent(_ p: Int) { parents.append(Int32(p)) }

        public mutating func append(author: Int32?, hasSignature signed: Bool) {
            authors.append(author ?? -1)
            hasSignature.append(signed)
            parentEnds.append(Int32(parents.count))
        }

        /// Commit i's parents in the set, by number.
        public func parents(of i: Int) -> ArraySlice<Int32> {
            parents[(i == 0 ? 0 : Int(parentEnds[i - 1]))..<Int(parentEnds[i])]
        }
    }

    /// The need of each commit of `graph`. Linear in commits and edges.
    public static func plan(_ graph: Graph) -> [Need] {
        let n = graph.count
        // Children before parents: a commit is settled once all of its children in the set are.
        var children = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            for j in graph.parents(of: i) where Int(j) != i { children[Int(j)] += 1 }
        }
        // Authored commits left unsettled (only a cycle, which ids cannot form) stay missing.
        var needs = graph.authors.map { $0 < 0 ? Need.recompute : Need.missing }
        // The authors vouching for each commit (almost always zero or one).
        var vouching = [[Int32]](repeating: [], count: n)
        var ready = (0..<n).filter { children[$0] == 0 }
        while let i = ready.popLast() {
            var passed = vouching[i]
            let author = graph.authors[i]
            if author >= 0 {
                if passed.contains(author) {
                    needs[i] = .covered
                } else if graph.hasSignature[i] {
                    needs[i] = .verify
                    passed.append(author)
                } else {
                    needs[i] = .missing
                }
            }
            for p in graph.parents(of: i) where Int(p) != i {
                let j = Int(p)
                for key in passed where !vouching[j].contains(key) { vouching[j].append(key) }
                children[j] -= 1
                if children[j] == 0 { ready.append(j) }
            }
            vouching[i] = []
        }
        return needs
    }
}
