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
        let graph = Fsck.Graph(salvage)
        Fsck.checkCheckpoint(name, directory: directory, salvage: salvage, graph: graph, into: &check)
        let stale = !check.isClean || !checkpointMatches(directory, salvage)
        guard !salvage.problems.isEmpty || stale else { return }
        let millis = FileSystem.nowMillis()
        let packs = directory + "/packs"
        // Positions follow salvage order, so arrivals restart in graph order from the salvage's
        // own order (see `repair(storeAt:)`, which forgets peers).
        let order = graph.inGraphOrder(graph.commits.indices)
        var packed: [PackedCommit] = []
        packed.reserveCapacity(order.count)
        for (seq, i) in order.enumerated() {
            let c = graph.commits[i]
            packed.append(PackedCommit(id: c.id, generation: graph.generations[i], seq: UInt64(seq), encoded: c.encoded, signature: c.signature))
        }
        var newPack: String? = nil
        var checksums: [[UInt8]] = []
        var numbers: PackWriter.EntryNumbers? = nil
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
        for c in graph.commits { parented.formUnion(c.commit.parents) }
        var records: [String: [Checkpoint.Head]] = [:]
        for i in order where !parented.contains(graph.commits[i].id) {
            let c = graph.commits[i]
            // safe: every commit was packed above and so got an entry number.
            var head = Checkpoint.Head(id: c.id, generation: graph.generations[i], kind: c.commit.kind.rawValue)
            if layout.fileVersion == 1 { head.encoded = c.encoded[...] } else { head.entry = (0, numbers!(c.id)!) }
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
}
