import TrellisCore

/// A read-only check of a whole store (docs/architecture.md §fsck): every pack's checksum,
/// index and entries, every log frame, every commit's id and signature, every parent, every
/// merge by recomputation, and every checkpoint against the packs. It never changes anything.
public enum Fsck {
    public struct Report: Sendable {
        public var repositories = 0
        public var packs = 0
        public var frames = 0
        public var commits = 0
        /// One line per damaged object: file and offset, or repository and commit id.
        public var problems: [String] = []
        /// Not damage: files left by interrupted writes, which the next write removes.
        public var leftovers: [String] = []
        public var isClean: Bool { problems.isEmpty }
    }

    package static func check(storeAt path: String) throws(TrellisError) -> Report {
        var report = Report()
        _ = try StorageEngine.formatVersion(ofStoreAt: path)
        report.leftovers = Leftovers.find(inStore: path)
        for name in try FileSystem.list(path + "/repos") where Leftovers.isRepository(path + "/repos/" + name) {
            report.repositories += 1
            checkRepository(name, directory: path + "/repos/" + name, into: &report)
        }
        return report
    }

    static func checkRepository(_ name: String, directory: String, into report: inout Report) {
        let salvage = Salvage.repository(name: name, directory: directory)
        report.problems += salvage.problems
        report.frames += salvage.frames
        report.packs += salvage.readers.count
        let graph = Graph(salvage)
        report.commits += graph.commits.count
        let commits = graph.commits
        for i in graph.byTime {
            let c = commits[i]
            let problem: String?
            if c.commit.repository != name {
                problem = "belongs to repository '\(c.commit.repository)'"
            } else if let missing = c.commit.parents.first(where: { graph.position[$0] == nil }) {
                problem = "parent \(missing.short) is missing"
            } else if let other = c.commit.parents.first(where: { graph.position[$0].map { commits[$0].commit.key } != c.commit.key }) {
                problem = "parent \(other.short) is another key's"
            } else {
                problem = nil
            }
            if let problem { report.problems.append("repository '\(name)' commit \(c.id.hex): \(problem)") }
        }
        for i in graph.byTime where commits[i].commit.kind.isMerge && commits[i].commit.parents.allSatisfy({ graph.position[$0] != nil }) {
            let m = commits[i]
            do throws(TrellisError) {
                let recomputed = try HeadMerge.mergeCommit(repository: name, key: m.commit.key, heads: m.commit.parents, source: graph)
                if recomputed.commit.encoded() != m.encoded {
                    report.problems.append("repository '\(name)' merge commit \(m.id.hex): does not match the merge of its parents")
                }
            } catch {
                report.problems.append("repository '\(name)' merge commit \(m.id.hex): cannot be recomputed: \(error.message)")
            }
        }
        checkCheckpoint(name, directory: directory, salvage: salvage, graph: graph, into: &report)
    }

    /// The commits fsck found, each once (its first copy), by position: a table of ids, the
    /// order by timestamp, and generations, with nothing copied per commit. It is also the
    /// graph that merges are recomputed over.
    struct Graph: MergeSource {
        let commits: [SignedCommit]
        let position: [CommitID: Int]
        /// Whether the first copy was read from a pack (and not a log).
        let packed: [Bool]
        /// Positions by timestamp, then id.
        let byTime: [Int]
        /// 1 for a root, else 1 + the largest generation of the parents found.
        private(set) var generations: [UInt32]

        init(_ salvage: Salvage) {
            var commits: [SignedCommit] = [], packed: [Bool] = []
            var position: [CommitID: Int] = [:]
            commits.reserveCapacity(salvage.commits.count)
            packed.reserveCapacity(salvage.commits.count)
            position.reserveCapacity(salvage.commits.count)
            for found in salvage.commits where position[found.commit.id] == nil {
                position[found.commit.id] = commits.count
                commits.append(found.commit)
                packed.append(found.generation != nil)
            }
            let keys = commits.map { ($0.commit.timestamp, $0.id) }
            byTime = commits.indices.sorted { keys[$0].0 < keys[$1].0 || (keys[$0].0 == keys[$1].0 && keys[$0].1 < keys[$1].1) }
            (self.commits, self.position, self.packed) = (commits, position, packed)
            generations = [UInt32](repeating: 0, count: commits.count)
            for i in inGraphOrder(byTime) {
                var highest: UInt32 = 0
                for p in commits[i].commit.parents { if let j = position[p], generations[j] > highest { highest = generations[j] } }
                generations[i] = highest + 1
            }
        }

        /// Every position once, parents before children, visited in the order `starts` gives
        /// (iteratively: histories can be deep). Parents are usually visited first already,
        /// and then no walk is needed.
        func inGraphOrder(_ starts: some Sequence<Int>) -> [Int] {
            var order: [Int] = []
            order.reserveCapacity(commits.count)
            var done = [Bool](repeating: false, count: commits.count)
            for i in starts where !done[i] {
                if commits[i].commit.parents.allSatisfy({ position[$0].map { done[$0] } ?? true }) {
                    done[i] = true
                    order.append(i)
                    continue
                }
                var stack = [i]
                while let top = stack.last {
                    let waiting = commits[top].commit.parents.compactMap { position[$0] }.filter { !done[$0] }
                    if waiting.isEmpty {
                        if !done[top] {
                            done[top] = true
                            order.append(top)
                        }
                        stack.removeLast()
                    } else {
                        stack += waiting
                    }
                }
            }
            return order
        }

        func parents(of id: CommitID) -> [CommitID] { position[id].map { commits[$0].commit.parents } ?? [] }
        func generation(of id: CommitID) -> UInt32 { position[id].map { generations[$0] } ?? 0 }
        func side(of id: CommitID) throws(TrellisError) -> MergeSide {
            guard let i = position[id] else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
            return MergeSide(document: commits[i].commit.document, timestamp: commits[i].commit.timestamp, id: id)
        }

        /// The first copy of a commit, if it was read from a pack.
        func packedCommit(_ id: CommitID) -> SignedCommit? {
            position[id].flatMap { packed[$0] ? commits[$0] : nil }
        }
    }

    /// A checkpoint that claims to cover the packs present must list exactly their heads.
    static func checkCheckpoint(_ name: String, directory: String, salvage: Salvage, graph: Graph,
                                into report: inout Report) {
        let path = directory + "/checkpoint"
        guard FileSystem.exists(path) else { return }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.decode(try FileSystem.readAll(path)) } catch {
            report.problems.append("\(path): \(error.message)")
            return
        }
        let present = Checkpoint.sorted(salvage.readers.map(\.checksum))
        guard checkpoint.packs == present, salvage.damagedPacks.isEmpty else { return }  // stale: the store rebuilds it
        var parented = Set<CommitID>(minimumCapacity: graph.commits.count)
        for (c, isPacked) in zip(graph.commits, graph.packed) where isPacked { for p in c.commit.parents { parented.insert(p) } }
        var expected = Set<CommitID>()
        for (c, isPacked) in zip(graph.commits, graph.packed) where isPacked && !parented.contains(c.id) { expected.insert(c.id) }
        var listed = Set<CommitID>()
        let readers = Dictionary(salvage.readers.map { ($0.checksum, $0) }, uniquingKeysWith: { a, _ in a })
        for record in checkpoint.records {
            for head in record.heads {
                listed.insert(head.id)
                let stored = graph.packedCommit(head.id)
                var matches = stored?.commit.key == record.key && stored?.commit.kind.rawValue == head.kind
                if let encoded = head.encoded {
                    matches = matches && stored?.encoded == Array(encoded)
                } else if let entry = head.entry {
                    let found = try? readers[checkpoint.packs[entry.pack]]?.entry(entry.number)
                    matches = matches && found?.id == head.id && found?.generation == head.generation
                }
                if !matches { report.problems.append("\(path): head \(head.id.hex) of '\(record.key)' does not match the packs") }
            }
        }
        if listed != expected {
            report.problems.append("\(path): lists \(listed.count) heads, the packs have \(expected.count)")
        }
    }
}
