import Foundation
import Testing
import TrellisCore
import TrellisCrypto
import TrellisTestSupport
@testable import TrellisStorage

@Test func deltasRebuildTheirTargetExactly() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<300 {
        let base = (0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...7, using: &rng) }
        var target = base
        for _ in 0..<Int.random(in: 0...6, using: &rng) {
            let at = Int.random(in: 0...target.count, using: &rng)
            let edit = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if Bool.random(using: &rng), at < target.count {
                target.removeSubrange(at..<min(target.count, at + edit.count))
            } else {
                target.insert(contentsOf: edit, at: at)
            }
        }
        let id = CommitID.of(base)
        if Bool.random(using: &rng) { target.insert(contentsOf: id.bytes, at: Int.random(in: 0...target.count, using: &rng)) }
        let delta = Delta.make(target: target, base: base, baseID: id)
        #expect(try Delta.apply(delta[...], base: base, baseID: id) == target)
    }
    // Hostile deltas are refused, not trusted.
    let base: [UInt8] = Array("hello world".utf8)
    for bad: [UInt8] in [[5, 0x80, 20, 3], [3, 0x81], [2, 5, 1, 2], [40, 0x00], [1, 0x80, 0, 0]] {
        #expect(throws: TrellisError.self) { try Delta.apply(bad[...], base: base, baseID: .zero) }
    }
}

/// A store with history of every shape: long chains, forks, merges, tombstones, two repos.
func populatedStore(_ path: String, records: Int = 40, revisions: Int = 12) throws -> StorageEngine {
    let engine = try StorageEngine.create(at: path)
    for r in 0..<revisions {
        var batch: [WriteRequest] = []
        for k in 0..<records {
            batch.append(WriteRequest(repository: k % 5 == 0 ? "other" : "main", key: "rec-\(k)",
                                      change: .put(try doc(#"{"n": \#(r), "name": "record \#(k)", "tags": {"$set": ["a", "b\#(r % 3)"]}}"#))))
        }
        try engine.write(batch)
    }
    let first = try engine.history("main", key: "rec-1").last!
    try engine.write([WriteRequest(repository: "main", key: "rec-1", change: .put(try doc(#"{"fork": true}"#)), parents: [first.id])])
    try engine.mergeHeads("main", "rec-1")
    try engine.write([WriteRequest(repository: "main", key: "rec-2", change: .delete)])
    return engine
}

/// Everything a reader can see: every commit with its bytes, and every key's heads and document.
func visibleState(_ engine: StorageEngine) throws -> [String] {
    var out: [String] = []
    for repo in try engine.repositoryNames() {
        for info in try engine.history(repo) {
            let c = try engine.commit(info.id)
            // Not the signature: repack drops those that a later commit by the same author covers.
            out.append("\(repo) \(info.id.hex) g\(info.generation) \(Hex.encode(c.encoded))")
        }
        for key in try engine.keys(in: repo) + ["rec-2"] where repo == "main" || key != "rec-2" {
            let heads = try engine.heads(repo, key).map(\.id.hex)
            let current = try engine.current(repo, key).document.map { ValueJSON.text(.map($0)) } ?? "deleted"
            out.append("\(repo)/\(key) \(heads) \(current)")
        }
    }
    return out.sorted()
}

@Test func repackKeepsEveryCommitStoresDeltasAndBoundsChains() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("s")
    let engine = try populatedStore(path)
    let before = try visibleState(engine)
    let reports = try engine.repack(depth: 4)
    let packed = reports.map(\.commits).reduce(0, +)
    #expect(packed == 40 * 12 + 2 + 1)
    for r in reports {
        #expect(r.longestChain <= 4)
        #expect(r.deltas > r.commits / 2)
    }
    #expect(try visibleState(engine) == before)
    let reopened = try StorageEngine.open(at: path)
    #expect(try visibleState(reopened) == before)
    #expect(reopened.takeWarnings().isEmpty)
    // Every record's history by one author keeps the signature of its newest commit only, and
    // the store still checks out.
    let commits = try reopened.repositoryNames().flatMap { repo in try reopened.history(repo).map { try reopened.commit($0.id) } }
    let signed = commits.filter { !$0.signature.isEmpty }
    #expect(signed.count < commits.count / 4, "\(signed.count) of \(commits.count) signed")
    let fsck = try Fsck.check(storeAt: path)
    #expect(fsck.isClean, "\(fsck.problems)")
    let stats = try reopened.stats("main")
    #expect(stats.packs == 1 && stats.logCommits == 0 && stats.longestChain <= 4 && stats.deltas > 0)
    #expect(stats.compressionRatio > 1.2, "ratio \(stats.compressionRatio)")
    // Writes after a repack build on packed heads; a second repack folds them in.
    try reopened.write([WriteRequest(repository: "main", key: "rec-3", change: .update { d in
        var d = d ?? Document()
        d["n"] = .int(100)
        return d
    })])
    #expect(try reopened.history("main", key: "rec-3").count == 13)
    try reopened.repack(["main"])
    #expect(try StorageEngine.open(at: path).history("main", key: "rec-3").count == 13)
    #expect(try Fsck.check(storeAt: path).isClean)
}

/// Repack streams each commit's bytes from its old pack, in the new pack's order; the pack it
/// writes must be byte for byte the one built from every commit held in memory, for a store of
/// many sealed packs, a log and one commit in two packs.
@Test func streamingRepackWritesThePackBuiltInMemory() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("s")
    let engine = try StorageEngine.create(at: path)
    engine.sealThreshold = 3000
    var g = SplitMix(state: 11)
    for r in 0..<30 {
        var batch: [WriteRequest] = []
        for _ in 0..<Int.random(in: 1...12, using: &g) {
            let k = Int.random(in: 0..<15, using: &g)
            batch.append(WriteRequest(repository: "main", key: "rec-\(k)",
                                      change: .put(try doc(#"{"n": \#(r), "k": \#(k), "text": "\#(String(repeating: "ab", count: k))"}"#))))
        }
        try engine.write(batch)
    }
    engine.sealThreshold = 1 << 30
    try engine.write([WriteRequest(repository: "main", key: "rec-1", change: .delete)])
    let packs = dir.file("s/repos/main/packs")
    var files = try FileManager.default.contentsOfDirectory(atPath: packs).filter { $0.hasSuffix(".pack") }.sorted()
    #expect(files.count >= 3, "\(files)")
    // A copy of the first pack under another name: its commits are in two packs.
    let copy = packs + "/pack-00000000000000000000000000000000"
    try FileManager.default.copyItem(atPath: packs + "/" + files[0], toPath: copy + ".pack")
    try FileManager.default.copyItem(atPath: packs + "/" + files[0].replacingOccurrences(of: ".pack", with: ".idx"), toPath: copy + ".idx")
    files = try FileManager.default.contentsOfDirectory(atPath: packs).filter { $0.hasSuffix(".pack") }.sorted()

    let store = try StorageEngine.open(at: path)
    // Every commit in memory, in the order repack reads them: packs as the index lists them, then the log.
    let index = try #require(store.repos["main"])
    var commits: [PackedCommit] = []
    for reader in index.packs {
        try reader.forEachEntry { _, e in
            commits.append(PackedCommit(id: e.id, generation: e.generation, seq: e.seq, encoded: e.encoded, signature: e.signature))
        }
    }
    for c in try index.log.allCommits() {
        let logged = try #require(index.logged[c.id])
        commits.append(PackedCommit(id: c.id, generation: logged.info.generation, seq: logged.seq, encoded: c.encoded, signature: c.signature))
    }
    #expect(Set(commits.map(\.id)).count < commits.count)
    let expected = try PackWriter.build(commits, depth: 5, indexVersion: 2, effort: .high, dropsCoveredSignatures: true)
    let before = try visibleState(store)
    let report = try #require(try store.repack(depth: 5).first)
    #expect(report.commits == Set(commits.map(\.id)).count)
    let name = PackFormat.name(checksum: expected.checksum)
    #expect(try FileManager.default.contentsOfDirectory(atPath: packs).sorted() == [name + ".idx", name + ".pack"])
    #expect(try FileSystem.readAll(packs + "/" + name + ".pack") == expected.pack)
    #expect(try FileSystem.readAll(packs + "/" + name + ".idx") == expected.index)
    #expect(try visibleState(StorageEngine.open(at: path)) == before)
    #expect(try Fsck.check(storeAt: path).isClean)
}

/// Batched infos and wire commits read packs in storage order; they must be the infos and
/// commits one by one, in the order asked, for commits in packs, heads named by the checkpoint
/// and commits still in the log.
@Test func batchedInfosAreTheSameAsOneByOne() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("s")
    let engine = try populatedStore(path)
    try engine.repack(depth: 4)
    try engine.write([WriteRequest(repository: "main", key: "rec-3", change: .update { d in
        var d = d ?? Document()
        d["n"] = .int(100)
        return d
    })])
    for store in [engine, try StorageEngine.open(at: path)] {
        var ids = try store.history("main").map(\.id)
        var g = SplitMix(state: 7)
        ids.shuffle(using: &g)
        let expected = try ids.map { id throws(TrellisError) in try store.info(id) }
        #expect(try store.infos(in: "main", ids) == expected)
        #expect(try store.infos(in: "main", Array(ids.prefix(5)) + Array(ids.prefix(2))) == Array(expected.prefix(5)) + Array(expected.prefix(2)))
        #expect(try store.infos(in: "main", []) == [])
        let unknown = CommitID.of(Array("not a commit".utf8))
        #expect(throws: TrellisError.self) { try store.infos(in: "main", [ids[0], unknown]) }
        // The bytes sync sends, read without decoding: the stored commits' own.
        let wire = try store.wireCommits(in: "main", ids)
        #expect(wire == (try store.commits(in: "main", ids)).map(WireCommit.init))
        #expect(wire.map { CommitID.of($0.encoded) } == ids)
        #expect(throws: TrellisError.self) { try store.wireCommits(in: "main", [ids[0], unknown]) }
    }
    let memory = try MemoryEngine()
    var doc = Document()
    doc["a"] = .int(1)
    try memory.write([WriteRequest(repository: "r", key: "k", change: .put(doc))])
    let mine = try memory.history("r").map(\.id)
    #expect(try memory.infos(in: "r", mine) == mine.map { id throws(TrellisError) in try memory.info(id) })
    #expect(try memory.wireCommits(in: "r", mine) == (try memory.commits(in: "r", mine)).map(WireCommit.init))
}

@Test func logsSealIntoPacksAndOpenUsesTheCheckpoint() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("s")
    let engine = try StorageEngine.create(at: path)
    engine.sealThreshold = 4096
    let other = try StorageEngine.open(at: path)  // a reader opened before any seal
    for r in 0..<30 {
        try engine.write((0..<10).map { k in
            WriteRequest(repository: "r", key: "k\(k)", change: .put(Document([("rev", .int(Int64(r))), ("pad", .string(String(repeating: "x", count: 40)))])))
        })
    }
    let packs = try FileManager.default.contentsOfDirectory(atPath: path + "/repos/r/packs").filter { $0.hasSuffix(".pack") }
    #expect(packs.count >= 2)
    let before = try visibleState(engine)
    #expect(try visibleState(other) == before)  // noticed the seals and reloaded
    let reopened = try StorageEngine.open(at: path)
    #expect(try visibleState(reopened) == before)
    #expect(try reopened.withIndex("r") { $0.checkpointIsCurrent })
    // A damaged checkpoint is ignored with a warning; heads come from the packs instead.
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path + "/repos/r/checkpoint"))
    bytes[bytes.count / 2] ^= 1
    try bytes.write(to: URL(fileURLWithPath: path + "/repos/r/checkpoint"))
    let rebuilt = try StorageEngine.open(at: path)
    #expect(rebuilt.takeWarnings().contains { $0.contains("checkpoint") })
    #expect(try visibleState(rebuilt) == before)
    #expect(!(try Fsck.check(storeAt: path).isClean))
    try rebuilt.write([WriteRequest(repository: "r", key: "k0", change: .put(Document()))])  // a writer rewrites it
    #expect(try Fsck.check(storeAt: path).isClean)
}

/// Applies one kind of damage to a repacked store and checks: reading gives data or errors,
/// never a crash; fsck reports it; repair keeps every commit it can read; fsck is then clean.
func checkDamageAndRepair(_ name: String, expectLoss: Bool, _ damage: (String) throws -> Void) throws {
    let dir = TemporaryDirectory()
    let path = dir.file("s")
    let engine = try populatedStore(path)
    try engine.repack()
    try engine.write([WriteRequest(repository: "main", key: "late", change: .put(Document()))])  // one commit in the log
    let allBefore = Set(try engine.history("main").map(\.id))
    let packDir = path + "/repos/main/packs"
    let pack = packDir + "/" + (try FileManager.default.contentsOfDirectory(atPath: packDir).first { $0.hasSuffix(".pack") }!)
    try damage(pack)
    if let damaged = try? StorageEngine.open(at: path) {
        for key in (try? damaged.keys(in: "main")) ?? [] { _ = try? damaged.history("main", key: key) }
    }
    #expect(!(try Fsck.check(storeAt: path).isClean), "\(name): fsck saw nothing")
    try FileManager.default.createDirectory(atPath: path + "/peers", withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: path + "/peers/0123", contents: Data([1, 2, 3]))
    let actions = try Repair.repair(storeAt: path)
    #expect(!actions.actions.isEmpty, "\(name)")
    // Arrival numbers were renumbered, so the marks saved for peers are gone too.
    #expect(!FileManager.default.fileExists(atPath: path + "/peers"), "\(name)")
    let after = try Fsck.check(storeAt: path)
    #expect(after.isClean, "\(name): \(after.problems)")
    let repaired = try StorageEngine.open(at: path)
    let allAfter = Set(try repaired.history("main").map(\.id))
    #expect(allAfter.isSubset(of: allBefore), "\(name)")
    #expect(allAfter.contains(try engine.heads("main", "late")[0].id), "\(name): the log's commit survives")
    if expectLoss { #expect(allAfter.count < allBefore.count, "\(name)") } else { #expect(allAfter == allBefore, "\(name)") }
    #expect(repaired.takeWarnings().isEmpty, "\(name)")
}

@Test func damagedPacksIndexesAndCheckpointsAreFoundAndRepaired() throws {
    func edit(_ path: String, _ change: (inout Data) -> Void) throws {
        var d = try Data(contentsOf: URL(fileURLWithPath: path))
        change(&d)
        try d.write(to: URL(fileURLWithPath: path))
    }
    let index = { (pack: String) in String(pack.dropLast(5)) + ".idx" }
    try checkDamageAndRepair("deleted index", expectLoss: false) { try FileManager.default.removeItem(atPath: index($0)) }
    try checkDamageAndRepair("truncated index", expectLoss: false) { p in try edit(index(p)) { $0.count -= 100 } }
    try checkDamageAndRepair("flipped index byte", expectLoss: false) { p in try edit(index(p)) { $0[600] ^= 0x20 } }
    try checkDamageAndRepair("flipped pack byte", expectLoss: true) { p in try edit(p) { $0[$0.count / 2] ^= 0x08 } }
    try checkDamageAndRepair("truncated pack", expectLoss: true) { p in try edit(p) { $0.count -= $0.count / 3 } }
    try checkDamageAndRepair("flipped checkpoint byte", expectLoss: false) { p in
        let checkpoint = p.components(separatedBy: "/packs/")[0] + "/checkpoint"
        try edit(checkpoint) { $0[40] ^= 0x01 }
    }
}

@Test func arrivalNumbersSurviveSealsAndRepacks() throws {
    let dir = TemporaryDirectory()
    let engine = try populatedStore(dir.file("s"), records: 10, revisions: 3)
    let all = try engine.ids(in: "main", arrivedSince: 0)
    #expect(Set(all) == Set(try engine.history("main").map(\.id)))
    // Arrival order is parents first.
    var seen = Set<CommitID>()
    for id in all {
        #expect(try engine.info(id).parents.allSatisfy { seen.contains($0) })
        seen.insert(id)
    }
    let mark = try engine.syncView("main").seqEnd
    #expect(mark == UInt64(all.count))
    #expect(try engine.ids(in: "main", arrivedSince: mark).isEmpty)
    var added: [CommitID] = []
    for r in 0..<3 {
        added += try engine.write([WriteRequest(repository: "main", key: "new-\(r)", change: .put(try doc(#"{"r": \#(r)}"#)))]).map(\.id)
        #expect(try engine.ids(in: "main", arrivedSince: mark) == added)
        if r == 0 { try engine.repack() }
        if r == 1 {
            engine.sealThreshold = 1
            try engine.write([WriteRequest(repository: "main", key: "new-x", change: .put(try doc(#"{"x": 1}"#)))]).forEach { added.append($0.id) }
            engine.sealThreshold = 16 << 20
        }
        #expect(try engine.ids(in: "main", arrivedSince: mark) == added)
    }
    try engine.repack()
    #expect(try engine.ids(in: "main", arrivedSince: mark) == added)
    let reopened = try StorageEngine.open(at: dir.file("s"))
    #expect(try reopened.ids(in: "main", arrivedSince: mark) == added)
    #expect(try reopened.ids(in: "main", arrivedSince: 0) == all + added)
    #expect(try reopened.syncView("main").seqEnd == mark + UInt64(added.count))
    #expect(try reopened.syncView("absent").heads.isEmpty)
}

private func fileBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

private func packFiles(_ path: String, _ repo: String, ending suffix: String) throws -> [String] {
    let dir = path + "/repos/\(repo)/packs"
    return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(suffix) }.map { dir + "/" + $0 }
}

/// Format 3 (docs/format.md §Pack indexes, §Checkpoints): an index holds 12 bytes per commit and
/// a checkpoint names each head's pack entry. An id that shares a stored id's first 8 bytes is
/// not found; heads are read from their entries after reopening; a checkpoint that names the
/// wrong entry gives errors and fsck problems, never wrong data.
@Test func formatThreeIndexesHoldPrefixesAndCheckpointsNameEntries() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("s")
    let engine = try populatedStore(path)
    #expect(engine.format == 3)
    let before = try visibleState(engine)
    try engine.repack()
    let count = try engine.history("main").count
    let idx = try fileBytes(try packFiles(path, "main", ending: ".idx")[0])
    #expect(Array(idx[0..<8]) == Array("TRLIDX02".utf8))
    let tableAt = 8 + 32 + 1024 + count * 12
    let blocks = idx[tableAt..<tableAt + 4].reduce(0) { $0 << 8 | Int($1) }
    #expect(idx.count == tableAt + 4 + blocks * 16 + 32)
    #expect(Array(try fileBytes(path + "/repos/main/checkpoint")[0..<8]) == Array("TRLCKP02".utf8))

    let reopened = try StorageEngine.open(at: path)
    #expect(try reopened.withIndex("main") { $0.checkpointIsCurrent })
    #expect(try visibleState(reopened) == before)
    let old = try reopened.history("main", key: "rec-3").last!.id
    var bytes = old.bytes
    bytes[31] ^= 1
    let twin = try #require(CommitID(bytes: bytes))
    try reopened.withIndex("main") { index throws(TrellisError) in
        let pack = index.packs[0]
        #expect(pack.candidates(for: twin).count == 1)
        #expect(pack.entryNumber(of: old) != nil && pack.entryNumber(of: twin) == nil)
        #expect(index.contains(old) && !index.contains(twin))
        let info = try index.info(twin), generation = try index.generation(of: twin)
        #expect(info == nil && generation == 0)
        #expect(pack.ids(withHexPrefix: String(twin.hex.prefix(16))) == [old])
        #expect(pack.ids(withHexPrefix: twin.hex).isEmpty)
    }
    #expect(throws: TrellisError.self) { try reopened.commit(twin) }

    // Two heads' entries swapped in an otherwise valid checkpoint.
    var checkpoint = try Checkpoint.decode(try fileBytes(path + "/repos/main/checkpoint"))
    let a = try #require(checkpoint.records.firstIndex { $0.key == "rec-3" })
    let b = try #require(checkpoint.records.firstIndex { $0.key == "rec-4" })
    (checkpoint.records[a].heads[0].entry, checkpoint.records[b].heads[0].entry) = (checkpoint.records[b].heads[0].entry, checkpoint.records[a].heads[0].entry)
    try Data(try checkpoint.encoded()).write(to: URL(fileURLWithPath: path + "/repos/main/checkpoint"))
    let misled = try StorageEngine.open(at: path)
    #expect { try misled.current("main", "rec-3") } throws: { ($0 as? TrellisError)?.message.contains("as the checkpoint says") == true }
    #expect(try misled.current("main", "rec-6").document != nil)
    #expect(try Fsck.check(storeAt: path).problems.contains { $0.contains("does not match the packs") })
    _ = try Repair.repair(storeAt: path)
    #expect(try Fsck.check(storeAt: path).isClean)
    #expect(try visibleState(try StorageEngine.open(at: path)) == before)
}

/// A format 2 store keeps writing version 1 indexes and checkpoints (older builds read them);
/// `upgrade` moves it to format 3, rewriting both in version 2 with nothing else changed.
@Test func formatTwoStoresKeepVersionOneFilesUntilUpgraded() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("s")
    _ = try populatedStore(path)
    try Data("trellis-store 2\n".utf8).write(to: URL(fileURLWithPath: path + "/FORMAT"))
    let engine = try StorageEngine.open(at: path)
    #expect(engine.format == 2)
    try engine.repack()
    let before = try visibleState(engine)
    #expect(Array(try fileBytes(try packFiles(path, "main", ending: ".idx")[0])[0..<8]) == Array("TRLIDX01".utf8))
    #expect(Array(try fileBytes(path + "/repos/main/checkpoint")[0..<8]) == Array("TRLCKP01".utf8))
    #expect(try visibleState(try StorageEngine.open(at: path)) == before)
    #expect(try Fsck.check(storeAt: path).isClean)
    #expect(try engine.upgrade() == 2)
    #expect(engine.format == 3)
    for repo in ["main", "other"] {
        #expect(Array(try fileBytes(try packFiles(path, repo, ending: ".idx")[0])[0..<8]) == Array("TRLIDX02".utf8))
        #expect(Array(try fileBytes(path + "/repos/\(repo)/checkpoint")[0..<8]) == Array("TRLCKP02".utf8))
    }
    #expect(try visibleState(try StorageEngine.open(at: path)) == before)
    #expect(try Fsck.check(storeAt: path).isClean)
}
