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
        var graph = MemoryCommitGraph()
        var byID: [CommitID: SignedCommit] = [:]
        var packed: [CommitID: SignedCommit] = [:]
        graph.reserveCapacity(salvage.commits.count)
        byID.reserveCapacity(salvage.commits.count)
        packed.reserveCapacity(salvage.commits.count)
        for found in salvage.commits where byID[found.commit.id] == nil {
            byID[found.commit.id] = found.commit
            if found.generation != nil { packed[found.commit.id] = found.commit }
        }
        report.commits += byID.count
        // Parents first, so the graph's generations are right.
        let ordered = byID.values.sorted { $0.commit.timestamp < $1.commit.timestamp || ($0.commit.timestamp == $1.commit.timestamp && $0.id < $1.id) }
        for c in Repair.uniqueInGraphOrder(ordered) { graph.add(c) }
        for c in ordered {
            let problem: String?
            if c.commit.repository != name {
                problem = "belongs to repository '\(c.commit.repository)'"
            } else if let missing = c.commit.parents.first(where: { byID[$0] == nil }) {
                problem = "parent \(missing.short) is missing"
            } else if let other = c.commit.parents.first(where: { byID[$0]?.commit.key != c.commit.key }) {
                problem = "parent \(other.short) is another key's"
            } else {
                problem = nil
            }
            if let problem { report.problems.append("repository '\(name)' commit \(c.id.hex): \(problem)") }
        }
        for m in ordered where m.commit.kind.isMerge && m.commit.parents.allSatisfy({ byID[$0] != nil }) {
            do throws(TrellisError) {
                let recomputed = try HeadMerge.mergeCommit(repository: name, key: m.commit.key, heads: m.commit.parents, source: graph)
                if recomputed.commit.encoded() != m.encoded {
                    report.problems.append("repository '\(name)' merge commit \(m.id.hex): does not match the merge of its parents")
                }
            } catch {
                report.problems.append("repository '\(name)' merge commit \(m.id.hex): cannot be recomputed: \(error.message)")
            }
        }
        checkCheckpoint(name, directory: directory, salvage: salvage, packed: packed, into: &report)
    }

    /// A checkpoint that claims to cover the packs present must list exactly their heads.
    static func checkCheckpoint(_ name: String, directory: String, salvage: Salvage, packed: [CommitID: SignedCommit],
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
        var parented = Set<CommitID>(minimumCapacity: packed.count)
        for c in packed.values { for p in c.commit.parents { parented.insert(p) } }
        let expected = Set(packed.keys.filter { !parented.contains($0) })
        var listed = Set<CommitID>()
        let readers = Dictionary(salvage.readers.map { ($0.checksum, $0) }, uniquingKeysWith: { a, _ in a })
        for record in checkpoint.records {
            for head in record.heads {
                listed.insert(head.id)
                let stored = packed[head.id]
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
