/// A commit graph held in memory, for merges computed away from a store (benchmarks, tests).
package struct MemoryCommitGraph: MergeSource, Sendable {
    private struct Node: Sendable {
        var side: MergeSide
        var parents: [CommitID]
        var generation: UInt32
    }

    private var nodes: [CommitID: Node] = [:]

    package init() {}

    /// Room for `count` commits, so that a large graph is not rehashed as it grows.
    package mutating func reserveCapacity(_ count: Int) { nodes.reserveCapacity(count) }

    /// Adds a commit; its parents must be added first.
    package mutating func add(_ commit: SignedCommit) {
        var highest: UInt32 = 0
        for p in commit.commit.parents { if let g = nodes[p]?.generation, g > highest { highest = g } }
        let generation = 1 + highest
        nodes[commit.id] = Node(
            side: MergeSide(document: commit.commit.document, timestamp: commit.commit.timestamp, id: commit.id),
            parents: commit.commit.parents, generation: generation)
    }

    package func parents(of id: CommitID) -> [CommitID] { nodes[id]?.parents ?? [] }
    package func generation(of id: CommitID) -> UInt32 { nodes[id]?.generation ?? 0 }

    package func side(of id: CommitID) throws(TrellisError) -> MergeSide {
        guard let node = nodes[id] else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
        return node.side
    }
}
