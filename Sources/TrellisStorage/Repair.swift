#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrellisCore

/// `fsck --repair` (docs/architecture.md §fsck): under the write lock, every commit that can
/// still be read and verified is rewritten into one fresh pack with a fresh index and
/// checkpoint; damaged packs and logs are renamed aside, never deleted.
package enum Repair {
    package struct Report: Sendable {
        /// One line per action taken.
        package var actions: [String] = []
    }

    package static func repair(storeAt path: String, lockTimeout: Double = 10) throws(TrellisError) -> Report {
        _ = try Fsck.check(storeAt: path)  // a readable FORMAT first
        let layout = PackLayout(storeFormat: try StorageEngine.formatVersion(ofStoreAt: path))
        let lock = try FileHandle(path: path + "/lock", flags: O_RDWR | O_CREAT, mode: 0o644)
        let deadline = FileSystem.nowMillis() + UInt64(lockTimeout * 1000)
        while !(try lock.lock(exclusive: true, wait: false)) {
            guard FileSystem.nowMillis() < deadline else {
                throw TrellisError(.storeLocked, "the store at \(path) is locked by another writer; gave up after \(lockTimeout) seconds")
            }
            FileSystem.sleep(millis: 5)
        }
        defer { lock.unlock() }
        var report = Report()
        let leftovers = Leftovers.find(inStore: path)
        Leftovers.remove(leftovers)
        for leftover in leftovers { report.actions.append("removed \(leftover), left by an interrupted write") }
        for name in try FileSystem.list(path + "/repos") where Leftovers.isRepository(path + "/repos/" + name) {
            try repairRepository(name, directory: path + "/repos/" + name, layout: layout, into: &report)
        }
        // Rewritten packs renumber arrivals, so sync marks saved for peers no longer hold.
        if !report.actions.isEmpty, FileSystem.exists(path + "/peers") {
            for file in (try? FileSystem.list(path + "/peers")) ?? [] { unlink(path + "/peers/" + file) }
            rmdir(path + "/peers")
            report.actions.append("forgot every peer's sync state (the next sync with each peer covers all history)")
        }
        return report
    }

    static func repairRepository(_ name: String, directory: String, layout: PackLayout, into report: inout Report) throws(TrellisError) {
        let salvage = Salvage.repository(name: name, directory: directory)
        var check = Fsck.Report()
        // Salvage reads packs before logs, so a packed commit's first copy is a packed one.
        Fsck.checkCheckpoint(name, directory: directory, salvage: salvage, graph: Fsck.Graph(salvage), into: &check)
        let stale = !check.isClean || !checkpointMatches(directory, salvage)
        guard !salvage.problems.isEmpty || stale else { return }
        let millis = FileSystem.nowMillis()
        let packs = directory + "/packs"
        let commits = uniqueInGraphOrder(salvage.commits.map(\.commit))
        var generation: [CommitID: UInt32] = [:]
        var packed: [PackedCommit] = []
        // Arrival numbers restart in graph order (see `repair(storeAt:)`, which forgets peers).
        for (seq, c) in commits.enumerated() {
            let g = 1 + (c.commit.parents.compactMap { generation[$0] }.max() ?? 0)
            generation[c.id] = g
            packed.append(try PackedCommit(id: c.id, generation: g, seq: UInt64(seq), encoded: c.encoded, signature: c.signature))
        }
        var newPack: String? = nil
        var checksums: [[UInt8]] = []
        var numbers: [CommitID: Int] = [:]
        if !packed.isEmpty {
            let output = try PackWriter.build(packed, indexVersion: layout.fileVersion, effort: .high)
            numbers = output.numbers
            try FileSystem.makeDirectory(packs)
            let base = packs + "/" + PackFormat.name(checksum: output.checksum)
            try FileSystem.writeAtomically(base + ".idx", output.index)
            try FileSystem.writeAtomically(base + ".pack", output.pack)
            newPack = base + ".pack"
            checksums = [output.checksum]
            report.actions.append("repository '\(name)': wrote \(PackFormat.name(checksum: output.checksum)).pack with \(packed.count) commits")
        }
        for file in (try? FileSystem.list(packs)) ?? [] where file.hasSuffix(".pack") && packs + "/" + file != newPack {
            let pack = packs + "/" + file
            if salvage.damagedPacks.contains(pack) {
                let aside = "\(pack).damaged-\(millis)"
                guard rename(pack, aside) == 0 else { throw FileHandle.error("cannot move \(pack) aside", path: pack) }
                report.actions.append("repository '\(name)': moved damaged \(file) to \(aside)")
            } else {
                unlink(pack)
            }
            unlink(PackReader.indexPath(forPack: pack))
        }
        if FileSystem.isDirectory(packs) { try FileSystem.syncDirectory(packs) }
        // Heads over the new pack: commits no other commit names as a parent.
        var parented = Set<CommitID>()
        for c in commits { parented.formUnion(c.commit.parents) }
        var records: [String: [Checkpoint.Head]] = [:]
        for c in commits where !parented.contains(c.id) {
            // safe: every commit got a generation and an entry number above.
            var head = Checkpoint.Head(id: c.id, generation: generation[c.id]!, kind: c.commit.kind.rawValue)
            if layout.fileVersion == 1 { head.encoded = c.encoded[...] } else { head.entry = (0, numbers[c.id]!) }
            records[c.commit.key, default: []].append(head)
        }
        let checkpoint = Checkpoint(version: layout.fileVersion, packs: checksums, records: records.map { ($0.key, $0.value) })
        try FileSystem.writeAtomically(directory + "/checkpoint", try checkpoint.encoded())
        report.actions.append("repository '\(name)': wrote a checkpoint of \(records.count) records")
        let log = directory + "/log"
        if salvage.damagedLog, FileSystem.exists(log) {
            let aside = "\(log).damaged-0-\(millis)"
            guard rename(log, aside) == 0 else { throw FileHandle.error("cannot move \(log) aside", path: log) }
            report.actions.append("repository '\(name)': moved the damaged log to \(aside)")
        }
        try LogFile.create(path: log)
    }

    private static func checkpointMatches(_ directory: String, _ salvage: Salvage) -> Bool {
        guard let bytes = try? FileSystem.readAll(directory + "/checkpoint"), let c = try? Checkpoint.decode(bytes) else {
            return salvage.readers.isEmpty
        }
        return c.packs == Checkpoint.sorted(salvage.readers.map(\.checksum))
    }

    /// Each commit once, parents before children (iteratively: histories can be deep).
    static func uniqueInGraphOrder(_ commits: [SignedCommit]) -> [SignedCommit] {
        var byID: [CommitID: SignedCommit] = [:]
        byID.reserveCapacity(commits.count)
        for c in commits where byID[c.id] == nil { byID[c.id] = c }
        var out: [SignedCommit] = []
        out.reserveCapacity(byID.count)
        var done = Set<CommitID>(minimumCapacity: byID.count)
        for c in commits {
            // Parents are usually older and out already: then no walk is needed.
            if !done.contains(c.id), c.commit.parents.allSatisfy({ done.contains($0) || byID[$0] == nil }) {
                done.insert(c.id)
                out.append(c)
                continue
            }
            var stack = [c]
            while let top = stack.last {
                let waiting = top.commit.parents.compactMap { byID[$0] }.filter { !done.contains($0.id) }
                if waiting.isEmpty {
                    if done.insert(top.id).inserted { out.append(top) }
                    stack.removeLast()
                } else {
                    stack += waiting
                }
            }
        }
        return out
    }
}
