import Foundation
import Testing
import TrellisCore
import TrellisCrypto
@testable import TrellisStorage
import TrellisTestSupport

// One damaged byte hides nothing else: every byte of a log, a pack, a pack index and a
// checkpoint is flipped in turn, and every commit stored outside the damaged frame or block is
// still readable before repair, after a write, and after `fsck --repair`.

/// Damage runs on the memory file system when there is one: thousands of small stores.
private func scratch() -> String {
    FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : FileManager.default.temporaryDirectory.path
}

private func document(_ n: Int) -> Document {
    Document([("n", .int(Int64(n))), ("title", .string("record \(n % 3)"))])
}

/// A store whose repository `r` was written in `batches` (one log frame each), with every
/// commit's encoding.
private func makeStore(at path: String, batches: [[String]]) throws -> [CommitID: [UInt8]] {
    let engine = try StorageEngine.create(at: path)
    engine.durability = .none
    var n = 0
    for keys in batches {
        try engine.write(keys.map { key in
            n += 1
            return WriteRequest(repository: "r", key: key, change: .put(document(n)))
        })
    }
    var out: [CommitID: [UInt8]] = [:]
    for info in try engine.history("r") { out[info.id] = try engine.commit(info.id).encoded }
    return out
}

/// The commits among `expected` that a fresh engine on `path` cannot read back byte for byte.
private func unreadable(_ expected: [CommitID: [UInt8]], at path: String) -> [String] {
    let engine: StorageEngine
    do { engine = try StorageEngine.open(at: path) } catch { return ["open: \(error.message)"] }
    return expected.compactMap { id, bytes in
        do throws(TrellisError) {
            return try engine.commit(id).encoded == bytes ? nil : "\(id.short): other bytes"
        } catch {
            return "\(id.short): \(error.message)"
        }
    }
}

/// Flips one bit of byte `position` of the file at `relative` in a copy of `store`, then checks
/// that `intact(position)` commits survive reading, a write, and repair.
private func flipEachByte(of relative: String, in store: String, positions: Range<Int>, label: String,
                          intact: (Int) -> [CommitID: [UInt8]], expectReported: (Int) -> Bool = { _ in true }) throws -> [String] {
    var failures: [String] = []
    let original = try FileSystem.readAll(store + "/" + relative)
    for position in positions {
        let copy = scratch() + "/trellis-flip-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: store, toPath: copy)
        var bytes = original
        bytes[position] ^= UInt8(1) << UInt8(position % 8)
        try Data(bytes).write(to: URL(fileURLWithPath: copy + "/" + relative))
        let must = intact(position)
        let where_ = "\(label) byte \(position)"
        failures += unreadable(must, at: copy).map { "\(where_), before repair: \($0)" }
        if expectReported(position), (try? Fsck.check(storeAt: copy).isClean) != false {
            failures.append("\(where_): fsck did not report the damage")
        }
        // A write next to the damage must not destroy what is intact. It may be refused, until
        // a repair, when some heads could be lost.
        func write(_ key: String, refusalAllowed: Bool) {
            do {
                let engine = try StorageEngine.open(at: copy)
                engine.durability = .none
                try engine.write([WriteRequest(repository: "r", key: key, change: .put(document(0)))])
            } catch where refusalAllowed && error.message.contains("fsck --repair") {
            } catch {
                failures.append("\(where_): a write failed: \(error)")
            }
        }
        write("after-damage", refusalAllowed: true)
        failures += unreadable(must, at: copy).map { "\(where_), after a write: \($0)" }
        do { _ = try Repair.repair(storeAt: copy) } catch { failures.append("\(where_): repair failed: \(error)") }
        failures += unreadable(must, at: copy).map { "\(where_), after repair: \($0)" }
        write("after-repair", refusalAllowed: false)
        if failures.count > 20 { break }
    }
    return failures
}

@Test func aDamagedLogByteHidesNoOtherFrame() throws {
    let dir = TemporaryDirectory()
    let store = dir.file("store")
    // Three frames; the later ones revise records of the first.
    let all = try makeStore(at: store, batches: [["a", "b"], ["a", "c"], ["b", "d"]])
    let log = try LogFile(path: store + "/repos/r/log")
    let frames = try log.scanNewFrames().frames.map { frame in
        (range: Int(frame.offset)..<Int(frame.offset) + frame.contents.totalLength,
         ids: Set(frame.contents.entries.map(\.id)))
    }
    #expect(frames.count == 3)
    let size = try FileSystem.readAll(store + "/repos/r/log").count
    #expect(size > 500)
    var checked = 0
    let failures = try flipEachByte(of: "repos/r/log", in: store, positions: 0..<size, label: "log", intact: { position in
        checked += 1
        let damaged = frames.first { $0.range.contains(position) }?.ids ?? []
        return all.filter { !damaged.contains($0.key) }
    })
    #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
    #expect(checked == size)
}

@Test func aDamagedFrameInTheMiddleIsSkippedNotCut() throws {
    let dir = TemporaryDirectory()
    let store = dir.file("store")
    let all = try makeStore(at: store, batches: [["a"], ["b"], ["c"]])
    let path = store + "/repos/r/log"
    let frames = try LogFile(path: path).scanNewFrames().frames
    var bytes = try FileSystem.readAll(path)
    bytes[Int(frames[0].offset) + Frame.headerSize + 2] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let engine = try StorageEngine.open(at: store)
    #expect(try engine.keys(in: "r") == ["b", "c"])
    #expect(engine.takeWarnings().contains { $0.contains("skipped") })
    // Writes wait for a repair: the damaged frame may hold a record's newest version.
    #expect(throws: TrellisError.self) {
        try engine.write([WriteRequest(repository: "r", key: "d", change: .put(document(9)))])
    }
    // The damaged bytes stay where they were; nothing was moved aside.
    #expect(try FileSystem.list(store + "/repos/r").filter { $0.hasPrefix("log.damaged") }.isEmpty)
    let report = try Fsck.check(storeAt: store)
    #expect(!report.isClean)
    #expect(report.problems.contains { $0.contains("offset \(frames[0].offset)") })
    let lost = Set(frames[0].contents.entries.map(\.id))
    #expect(unreadable(all.filter { !lost.contains($0.key) }, at: store).isEmpty)
}

@Test func commitsOnlyInASideFileFailFsckUntilRepaired() throws {
    let dir = TemporaryDirectory()
    let store = dir.file("store")
    let all = try makeStore(at: store, batches: [["a"], ["b"], ["c"]])
    // What an older version did with damage in the first frame: move every later frame aside.
    let path = store + "/repos/r/log"
    let frames = try LogFile(path: path).scanNewFrames().frames
    let bytes = try FileSystem.readAll(path)
    let cut = Int(frames[0].offset)
    var tail = Array(bytes[cut...])
    tail[Frame.headerSize + 1] ^= 0x01
    try Data(tail).write(to: URL(fileURLWithPath: path + ".damaged-\(cut)-1"))
    try Data(bytes[..<cut]).write(to: URL(fileURLWithPath: path))
    let report = try Fsck.check(storeAt: store)
    let outside = report.problems.filter { $0.contains("outside the store") }
    #expect(outside.count == 2, "\(report.problems)")
    let kept = Set(frames[1...].flatMap { $0.contents.entries.map(\.id) })
    for id in kept { #expect(outside.contains { $0.contains(id.hex) }) }
    _ = try Repair.repair(storeAt: store)
    #expect(unreadable(all.filter { kept.contains($0.key) }, at: store).isEmpty)
    #expect(try Fsck.check(storeAt: store).problems.filter { $0.contains("outside the store") }.isEmpty)
}

@Test func aDamagedPackIndexOrCheckpointByteHidesNoOtherBlock() throws {
    let dir = TemporaryDirectory()
    let store = dir.file("store")
    let engine = try StorageEngine.create(at: store)
    engine.durability = .none
    engine.packBlockSize = 200  // a few commits per block
    var n = 0
    for round in 0..<3 {
        try engine.write((0..<4).map { k in
            n += 1
            return WriteRequest(repository: "r", key: "k\(k)", change: .put(document(n + round)))
        })
    }
    _ = try engine.repack()
    var all: [CommitID: [UInt8]] = [:]
    for info in try engine.history("r") { all[info.id] = try engine.commit(info.id).encoded }
    let packs = try FileSystem.list(store + "/repos/r/packs")
    let packName = try #require(packs.first { $0.hasSuffix(".pack") })
    let reader = try PackReader(path: store + "/repos/r/packs/" + packName)
    #expect(reader.blocks.count >= 3)
    let packSize = Int(reader.fileSize)
    // Which commits need which bytes: an entry needs its block, and a delta its base's block.
    var entryBlock: [Int] = []
    var needs: [CommitID: Set<Int>] = [:]
    var entries: [(Int, PackEntry)] = []
    try reader.forEachEntry { number, entry throws(TrellisError) in entries.append((number, entry)) }
    for (b, block) in reader.blocks.enumerated() {
        let end = b + 1 < reader.blocks.count ? reader.blocks[b + 1].first : reader.entryCount
        entryBlock += Array(repeating: b, count: end - block.first)
    }
    for (number, entry) in entries {
        var blocks: Set<Int> = [entryBlock[number]]
        if entry.distance > 0, let base = entries.first(where: { $0.0 == number - entry.distance })?.1 {
            blocks.formUnion(needs[base.id] ?? [])
        }
        needs[entry.id] = blocks
    }
    let firstBlock = Int(reader.blocks[0].offset)
    let blockRanges = reader.blocks.enumerated().map { b, block in
        Int(block.offset)..<(b + 1 < reader.blocks.count ? Int(reader.blocks[b + 1].offset) : packSize - PackFormat.checksumSize)
    }
    // Bytes before the first block (the header and the dictionary) are needed by every block;
    // the trailing checksum by none.
    let packFailures = try flipEachByte(of: "repos/r/packs/" + packName, in: store, positions: 0..<packSize, label: "pack",
                                        intact: { position in
        if position < firstBlock { return [:] }
        guard let damaged = blockRanges.firstIndex(where: { $0.contains(position) }) else { return all }
        return all.filter { !(needs[$0.key]?.contains(damaged) ?? true) }
    })
    #expect(packFailures.isEmpty, "\(packFailures.prefix(20).joined(separator: "\n"))")

    // An index or checkpoint is redundant: every commit stays readable whatever byte is hit.
    let indexName = String(packName.dropLast(".pack".count)) + ".idx"
    for file in ["repos/r/packs/" + indexName, "repos/r/checkpoint"] {
        let size = try FileSystem.readAll(store + "/" + file).count
        let failures = try flipEachByte(of: file, in: store, positions: 0..<size, label: file, intact: { _ in all })
        #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
    }
}

@Test func aPackWithNoReadableBlockIsSkippedNotATrap() throws {
    let dir = TemporaryDirectory()
    let store = dir.file("store")
    let all = try makeStore(at: store, batches: [["a"]])
    // Found by fuzzing: a pack header claiming entries, and no block that can be read.
    let hex = "54524c5041434b3200a50e0000000000000000000090ff0e00000000000000ffffffffffff13942d0790ffffffffffffffffffffffffffff"
    let bytes = stride(from: 0, to: hex.count, by: 2).map { i in
        UInt8(hex[hex.index(hex.startIndex, offsetBy: i)..<hex.index(hex.startIndex, offsetBy: i + 2)], radix: 16) ?? 0
    }
    try FileSystem.makeDirectory(store + "/repos/r/packs")
    try Data(bytes).write(to: URL(fileURLWithPath: store + "/repos/r/packs/pack-00.pack"))
    let reader = try PackReader(path: store + "/repos/r/packs/pack-00.pack")
    #expect(reader.blocks.isEmpty)
    #expect(throws: TrellisError.self) { try reader.entry(0) }
    let engine = try StorageEngine.open(at: store)
    #expect(unreadable(all, at: store).isEmpty)
    #expect(try engine.history("r").count == 1)
    #expect(try engine.current("r", "a").document != nil)
    #expect(throws: TrellisError.self) { try engine.commit(CommitID.zero) }
    #expect(!engine.takeWarnings().isEmpty)
    // The pack's commits could be any record's newest versions: no write starts a new root.
    do {
        try engine.write([WriteRequest(repository: "r", key: "a", change: .put(document(5)))])
        Issue.record("a write to a repository with an unreadable pack was accepted")
    } catch {
        #expect(error.message.contains("fsck --repair"))
    }
    _ = try Repair.repair(storeAt: store)
    try StorageEngine.open(at: store).write([WriteRequest(repository: "r", key: "a", change: .put(document(5)))])
}

@Test func aLongRunningProcessNeverCutsAFrameWrittenAfterTheLogWasCut() throws {
    let dir = TemporaryDirectory()
    let store = dir.file("store")
    _ = try makeStore(at: store, batches: [["a"], ["b"]])
    // The long-running process (a server) has read the whole log.
    let server = try StorageEngine.open(at: store)
    #expect(try server.history("r").count == 2)
    // The log loses its last 40 bytes (a torn tail), and another process then writes.
    let path = store + "/repos/r/log"
    let bytes = try FileSystem.readAll(path)
    try Data(bytes.dropLast(40)).write(to: URL(fileURLWithPath: path))
    let writer = try StorageEngine.open(at: store)
    let written = try writer.write([WriteRequest(repository: "r", key: "c", change: .put(document(3)))])
    let acknowledged = try #require(written.first).id
    // The server reads and writes on: it must notice the log changed under it and re-read it.
    #expect(try server.commit(acknowledged).id == acknowledged)
    try server.write([WriteRequest(repository: "r", key: "d", change: .put(document(4)))])
    let fresh = try StorageEngine.open(at: store)
    #expect(try fresh.commit(acknowledged).id == acknowledged)
    #expect(try fresh.keys(in: "r").contains("d"))
}

@Test func aHalfMadeRepositoryStopsNothing() throws {
    let dir = TemporaryDirectory()
    let store = dir.file("store")
    let all = try makeStore(at: store, batches: [["a"]])
    // What a kill or a full disk left behind in older versions, or a hand-made directory;
    // a repository being built aside by a process that was killed; one whose log is unreadable.
    try FileSystem.makeDirectory(store + "/repos/empty")
    try FileSystem.makeDirectory(store + "/repos/junk")
    try Data("x".utf8).write(to: URL(fileURLWithPath: store + "/repos/junk/notes"))
    try FileSystem.makeDirectory(store + "/repos/.new-late-4242")
    try FileSystem.writeAtomically(store + "/repos/.new-late-4242/log", LogFile.fileMagic)
    try FileSystem.makeDirectory(store + "/repos/broken")
    try FileSystem.makeDirectory(store + "/repos/broken/log")  // a directory where the log should be
    let engine = try StorageEngine.open(at: store)
    #expect(unreadable(all, at: store).isEmpty)
    #expect(try engine.repositoryNames() == ["r"])
    #expect(engine.takeWarnings().contains { $0.contains("'broken'") })
    #expect(throws: TrellisError.self) { try engine.keys(in: "empty") }
    // Writing creates the repository over the empty directory, and refuses to touch the others.
    try engine.write([WriteRequest(repository: "empty", key: "k", change: .put(document(1)))])
    try engine.write([WriteRequest(repository: "late", key: "k", change: .put(document(2)))])
    #expect(throws: TrellisError.self) {
        try engine.write([WriteRequest(repository: "junk", key: "k", change: .put(document(3)))])
    }
    #expect(FileManager.default.fileExists(atPath: store + "/repos/junk/notes"))
    try engine.write([WriteRequest(repository: "r", key: "b", change: .put(document(4)))])
    let fresh = try StorageEngine.open(at: store)
    #expect(try fresh.repositoryNames() == ["empty", "late", "r"])
    #expect(try fresh.keys(in: "r") == ["a", "b"])
    #expect(try FileSystem.list(store + "/repos").filter { $0.hasPrefix(".new-") }.isEmpty, "the first write removes leftovers")
}

@Test func leftoversOfInterruptedWritesAreReportedAndRemoved() throws {
    let dir = TemporaryDirectory()
    let store = dir.file("store")
    let all = try makeStore(at: store, batches: [["a"], ["b"]])
    // What a seal stopped by a full disk leaves: an index without its pack, a half-written pack.
    try FileSystem.makeDirectory(store + "/repos/r/packs")
    let leftovers = [store + "/repos/r/packs/pack-0123.idx", store + "/repos/r/packs/pack-0123.pack.tmp-999",
                     store + "/repos/r/checkpoint.tmp-999"]
    for path in leftovers { try Data("partial".utf8).write(to: URL(fileURLWithPath: path)) }
    let report = try Fsck.check(storeAt: store)
    #expect(report.isClean, "leftovers are not damage")
    #expect(report.leftovers == leftovers.sorted())
    // Reading removes nothing; the next write does.
    let engine = try StorageEngine.open(at: store)
    _ = try engine.history("r")
    #expect(leftovers.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    try engine.write([WriteRequest(repository: "r", key: "c", change: .put(document(3)))])
    #expect(leftovers.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    #expect(try Fsck.check(storeAt: store).leftovers.isEmpty)
    #expect(unreadable(all, at: store).isEmpty)
}

@Test func aRunningProcessRecoversByItselfWhenAnotherRepairsTheStore() throws {
    let dir = TemporaryDirectory()
    let store = dir.file("store")
    let all = try makeStore(at: store, batches: [["a"], ["b"], ["c"]])
    let server = try StorageEngine.open(at: store)
    #expect(try server.history("r").count == 3)
    let path = store + "/repos/r/log"
    let frames = try LogFile(path: path).scanNewFrames().frames
    // Damage in place under the running process: frame 2 is overwritten, the file cut short.
    var bytes = try FileSystem.readAll(path)
    for i in Int(frames[1].offset)..<Int(frames[1].offset) + 20 { bytes[i] = 0 }
    try Data(bytes.dropLast(3)).write(to: URL(fileURLWithPath: path))
    let lost = Set(frames[1].contents.entries.map(\.id)).union(frames[2].contents.entries.map(\.id))
    _ = try Repair.repair(storeAt: store)
    // Without a restart, the process reads what survived and writes on.
    let kept = all.filter { !lost.contains($0.key) }
    for (id, encoded) in kept { #expect(try server.commit(id).encoded == encoded) }
    #expect(try server.commits(in: "r", Array(kept.keys)).count == kept.count)
    #expect(try server.keys(in: "r") == ["a"])
    try server.write([WriteRequest(repository: "r", key: "d", change: .put(document(4)))])
    #expect(try StorageEngine.open(at: store).keys(in: "r") == ["a", "d"])
}

/// Found by the checksum-aware fuzzer: a checkpoint (or frame, or block) whose checksum holds
/// but whose length field states gigabytes made the reader allocate them before LZ4 refused.
@Test func aDamagedLengthFieldNeverAllocatesWhatItStates() throws {
    let dir = TemporaryDirectory()
    let engine = try StorageEngine.create(at: dir.file("s"))
    try engine.write([WriteRequest(repository: "r", key: "k", change: .put(try doc(#"{"v": 1}"#)))])
    _ = try engine.repack()
    var bytes = try FileSystem.readAll(dir.file("s") + "/repos/r/checkpoint")
    #expect(throws: Never.self) { _ = try Checkpoint.decode(bytes) }
    // The raw length follows the magic; 2^31 - 1 bytes from a payload of a few dozen.
    let at = Checkpoint.magicSize
    for (i, b) in [0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF].enumerated() { bytes[at + i] = UInt8(b) }
    let body = Array(bytes.dropLast(32))
    bytes.replaceSubrange((bytes.count - 32)..., with: Blake2b256.hash(body))
    #expect {
        _ = try Checkpoint.decode(bytes)
    } throws: { error in
        (error as? TrellisError)?.message.contains("more than its") == true
    }
    #expect(throws: TrellisError.self) { _ = try LZ4.decompress([1, 2, 3][...], rawLength: 1 << 30) }
}
