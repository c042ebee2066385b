import Foundation
import Testing
import TrellisCore
import TrellisTestSupport
@testable import TrellisStorage

func doc(_ json: String) throws -> Document { try ValueJSON.document(fromJSON: json) }

@Test func writesSurviveReopenWithHeadsRebuilt() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("store")
    let engine = try StorageEngine.create(at: path)
    let first = try engine.write([WriteRequest(repository: "tasks", key: "a", change: .put(try doc(#"{"v": 1}"#)))])[0]
    let second = try engine.write([WriteRequest(repository: "tasks", key: "a", change: .put(try doc(#"{"v": 2}"#)))])[0]
    #expect(second.parents == [first.id])
    // A concurrent edit replayed on the first version makes a second head.
    let fork = try engine.write([WriteRequest(repository: "tasks", key: "a", change: .put(try doc(#"{"v": 3}"#)), parents: [first.id])])[0]
    try engine.write([WriteRequest(repository: "tasks", key: "b", change: .put(try doc("{}"))),
                      WriteRequest(repository: "tasks", key: "b", change: .delete)])

    let reopened = try StorageEngine.open(at: path)
    #expect(Set(try reopened.heads("tasks", "a").map(\.id)) == [second.id, fork.id])
    #expect(try reopened.current("tasks", "a").document == (try doc(#"{"v": 3}"#)))
    #expect(try reopened.keys(in: "tasks") == ["a"])
    #expect(try reopened.current("tasks", "b").document == nil)
    #expect(try reopened.history("tasks").count == 5)
    #expect(try reopened.commit(first.id).commit.document == (try doc(#"{"v": 1}"#)))
    #expect(try reopened.identity.publicKey == engine.identity.publicKey)
}

@Test func badParentsAndDeletesOfMissingRecordsAreRefused() throws {
    let dir = TemporaryDirectory()
    let engine = try StorageEngine.create(at: dir.file("s"))
    let a = try engine.write([WriteRequest(repository: "r", key: "a", change: .put(Document()))])[0]
    #expect(throws: TrellisError.self) {
        try engine.write([WriteRequest(repository: "r", key: "b", change: .put(Document()), parents: [a.id])])
    }
    #expect(throws: TrellisError.self) { try engine.write([WriteRequest(repository: "r", key: "zz", change: .delete)]) }
    #expect(throws: TrellisError.self) { try engine.write([WriteRequest(repository: "../x", key: "a", change: .delete)]) }
    // A failed batch leaves nothing behind, not even its valid first half.
    #expect(throws: TrellisError.self) {
        try engine.write([WriteRequest(repository: "r", key: "c", change: .put(Document())),
                          WriteRequest(repository: "r", key: "zz", change: .delete)])
    }
    #expect(try engine.history("r").count == 1)
    #expect(try StorageEngine.open(at: dir.file("s")).history("r").count == 1)
}

/// Damages the log's tail in a given way and checks that readers leave it and the next writer
/// cuts exactly the damage.
func checkTailRecovery(_ damage: (String, UInt64) throws -> Void) throws {
    let dir = TemporaryDirectory()
    let path = dir.file("store")
    let engine = try StorageEngine.create(at: path)
    var ids: [CommitID] = []
    for n in 0..<5 {
        ids.append(try engine.write([WriteRequest(repository: "r", key: "k\(n)", change: .put(try doc(#"{"n": \#(n)}"#)))])[0].id)
    }
    let log = path + "/repos/r/log"
    let sizeBefore = UInt64(try FileManager.default.attributesOfItem(atPath: log)[.size] as! Int)
    // One more frame, which the damage then hits.
    try engine.write([WriteRequest(repository: "r", key: "last", change: .put(try doc(#"{"n": 99}"#)))])
    try damage(log, sizeBefore)

    let reopened = try StorageEngine.open(at: path)
    // Reading changes nothing: the damaged bytes may be a write in progress.
    for id in ids { #expect(try reopened.commit(id).id == id) }
    #expect(reopened.takeWarnings().isEmpty)
    #expect(UInt64(try FileManager.default.attributesOfItem(atPath: log)[.size] as! Int) > sizeBefore)
    try reopened.write([WriteRequest(repository: "other", key: "x", change: .put(Document()))])
    let warnings = reopened.takeWarnings()
    #expect(warnings.count == 1)
    #expect(warnings.first?.contains("cut a damaged log tail") == true)
    for id in ids { #expect(try reopened.commit(id).id == id) }
    #expect(UInt64(try FileManager.default.attributesOfItem(atPath: log)[.size] as! Int) == sizeBefore)
    #expect(try FileManager.default.contentsOfDirectory(atPath: path + "/repos/r").contains { $0.hasPrefix("log.damaged-") })
    // The store keeps working, and the next open has nothing to report.
    try reopened.write([WriteRequest(repository: "r", key: "after", change: .put(Document()))])
    let again = try StorageEngine.open(at: path)
    #expect(again.takeWarnings().isEmpty)
    #expect(try again.keys(in: "r").count == 6)
}

@Test func tornTailIsCut() throws {
    try checkTailRecovery { log, good in
        let h = try Foundation.FileHandle(forUpdating: URL(fileURLWithPath: log))
        try h.truncate(atOffset: good + 20)  // half a frame
        try h.close()
    }
}

@Test func corruptTailIsCut() throws {
    try checkTailRecovery { log, good in
        var bytes = try Data(contentsOf: URL(fileURLWithPath: log))
        bytes[Int(good) + 18] ^= 0xFF  // a flipped payload byte: checksum mismatch
        try bytes.write(to: URL(fileURLWithPath: log))
    }
}

@Test func garbageAppendedIsCut() throws {
    try checkTailRecovery { log, good in
        var bytes = try Data(contentsOf: URL(fileURLWithPath: log))
        bytes = bytes.prefix(Int(good))
        bytes.append(Data("TRF1 this is not a frame at all".utf8))
        try bytes.write(to: URL(fileURLWithPath: log))
    }
}

@Test func crcMatchesZlib() {
    #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    #expect(CRC32.checksum([UInt8]()) == 0)
    // zlib.crc32(bytes(range(256)) * 3) and zlib.crc32(b"123456789", 0x12345678)
    #expect(CRC32.checksum(Array(repeating: Array(0...255) as [UInt8], count: 3).flatMap { $0 }) == 0xB0C0_DF2A)
    #expect(CRC32.checksum(Array("123456789".utf8), seed: 0x1234_5678) == 0x01F4_807B)
}

/// The eight-bytes-at-a-time checksum against the byte-at-a-time definition, on every length
/// around the 8-byte stride, from unaligned starts, with chained seeds.
@Test func crcSlicedMatchesBytewise() {
    func reference(_ bytes: ArraySlice<UInt8>, seed: UInt32) -> UInt32 {
        var c = ~seed
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }
    var rng = SplitMix(state: 32)
    for _ in 0..<400 {
        let bytes = (0..<Int(rng.next() % 48)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 4) }
        let start = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
        let seed = rng.next() % 3 == 0 ? 0 : UInt32(truncatingIfNeeded: rng.next())
        #expect(CRC32.checksum(bytes[start...], seed: seed) == reference(bytes[start...], seed: seed))
        let split = start + (bytes.count - start) / 2
        #expect(CRC32.checksum(bytes[split...], seed: CRC32.checksum(bytes[start..<split], seed: seed))
                == reference(bytes[start...], seed: seed))
    }
}

@Test func aRefusedFirstWriteLeavesNoRepositoryBehind() throws {
    let dir = TemporaryDirectory()
    let engine = try StorageEngine.create(at: dir.file("s"))
    let bad = Document([("x", .double(.nan))])
    #expect(throws: TrellisError.self) { try engine.write([WriteRequest(repository: "fresh", key: "k", change: .put(bad))]) }
    #expect(try engine.repositoryNames().isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("s") + "/repos").isEmpty)
}

@Test func fsckFindsEveryKindOfDamageAndChangesNothing() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("s")
    let engine = try StorageEngine.create(at: path)
    let base = try engine.write([WriteRequest(repository: "r", key: "k", change: .put(try doc(#"{"v": 1}"#)))])[0]
    for n in 2...4 {
        try engine.write([WriteRequest(repository: "r", key: "k", change: .put(try doc(#"{"v": \#(n)}"#)), parents: [base.id])])
    }
    try engine.mergeHeads("r", "k")
    var clean = try Fsck.check(storeAt: path)
    #expect(clean.isClean && clean.commits == 5 && clean.frames == 5, "\(clean.problems)")

    // A commit with a bad signature and a forged merge, appended as valid frames.
    let log = try LogFile(path: path + "/repos/r/log")
    _ = try log.scanNewFrames()
    let good = try engine.commit(base.id)
    var badSignature = good.signature
    badSignature[5] ^= 1
    var forged = try engine.commit(try engine.heads("r", "k")[0].id).commit
    forged.document = try doc(#"{"v": 99}"#)
    let forgedMerge = SignedCommit.merge(forged)
    let badOffset = try log.append(try Frame.encode([SignedCommit(commit: good.commit, id: good.id, encoded: good.encoded, signature: badSignature)]))
    _ = try log.append(try Frame.encode([forgedMerge]))
    // Then a damaged frame in the middle, followed by an intact one.
    let damagedOffset = try log.append(try Frame.encode([try engine.commit(base.id)]))
    let last = try StorageEngine.create(at: dir.file("other"))
    let extra = try last.write([WriteRequest(repository: "r", key: "x", change: .put(Document()))])[0]
    _ = try log.append(try Frame.encode([try last.commit(extra.id)]))
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path + "/repos/r/log"))
    bytes[Int(damagedOffset) + 20] ^= 0xFF
    try bytes.write(to: URL(fileURLWithPath: path + "/repos/r/log"))

    let before = snapshot(path)
    let report = try Fsck.check(storeAt: path)
    #expect(snapshot(path) == before)
    #expect(report.problems.count == 3, "\(report.problems)")
    #expect(report.problems.contains { $0.contains(good.id.hex) && $0.contains("invalid signature") && $0.contains("offset \(badOffset)") })
    #expect(report.problems.contains { $0.contains(forgedMerge.id.hex) && $0.contains("does not match") })
    #expect(report.problems.contains { $0.contains("offset \(damagedOffset)") && $0.contains("checksum") })
    #expect(report.commits == 7)  // verified and distinct; the frame after the damage was still read
    clean = try Fsck.check(storeAt: dir.file("other"))
    #expect(clean.isClean)
}

@Test func concurrentWritersShareFsyncsAndFailAlone() throws {
    let dir = TemporaryDirectory()
    let engine = try StorageEngine.create(at: dir.file("s"))
    let threads = 8, each = 25
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func add() { lock.withLock { n += 1 } }
        var value: Int { lock.withLock { n } }
    }
    let failures = Counter()
    // Real threads, not a pool sized to the cores: writers must be waiting while one fsyncs.
    let finished = DispatchGroup()
    for t in 0..<threads {
        finished.enter()
        Thread.detachNewThread {
            defer { finished.leave() }
            for n in 0..<each {
            // Every fifth batch of odd threads is refused; it must not take others down with it.
            let bad = t % 2 == 1 && n % 5 == 0
            let request = bad
                ? WriteRequest(repository: "r", key: "missing-\(t)-\(n)", change: .delete)
                : WriteRequest(repository: "r", key: "t\(t)-\(n)", change: .put(Document([("n", .int(Int64(n)))])))
            do { try engine.write([request]) } catch { failures.add() }
            }
        }
    }
    finished.wait()
    let refused = (threads / 2) * (each / 5)
    #expect(failures.value == refused)
    #expect(try engine.history("r").count == threads * each - refused)
    #expect(try StorageEngine.open(at: dir.file("s")).history("r").count == threads * each - refused)
    #expect(engine.logSyncs < threads * each - refused, "fsyncs \(engine.logSyncs) were not shared")
}

@Test func durabilityModesDecideWhenLogsAreFsynced() throws {
    let dir = TemporaryDirectory()
    let engine = try StorageEngine.create(at: dir.file("s"))
    engine.durability = .none
    for n in 0..<5 { try engine.write([WriteRequest(repository: "r", key: "k", change: .put(Document([("n", .int(Int64(n)))])))]) }
    #expect(engine.logSyncs == 0)
    #expect(try StorageEngine.open(at: dir.file("s")).history("r").count == 5)  // written, if not yet synced
    engine.flush()
    #expect(engine.logSyncs == 1)
    engine.durability = .batched
    try engine.write([WriteRequest(repository: "r", key: "k", change: .put(Document()))])
    // The flush comes from a timer; wait for it (generously: this machine is shared).
    for _ in 0..<200 where engine.logSyncs < 2 { Thread.sleep(forTimeInterval: 0.05) }
    #expect(engine.logSyncs == 2)
    engine.durability = .full
    try engine.write([WriteRequest(repository: "r", key: "k", change: .put(Document()))])
    #expect(engine.logSyncs == 3)
}

@Test func readingHistoryDecodesEachLogFrameOnce() throws {
    let dir = TemporaryDirectory()
    let engine = try StorageEngine.create(at: dir.file("store"))
    // Two frames of 500 commits each (one batch each), then two revisions of every record.
    for rev in 0..<2 {
        try engine.write((0..<500).map { k in
            WriteRequest(repository: "r", key: "k\(k)", change: .put(Document([("rev", .int(Int64(rev)))])))
        })
    }
    let reopened = try StorageEngine.open(at: dir.file("store"))
    let history = try reopened.history("r")
    #expect(history.count == 1000)
    let before = try reopened.withIndex("r") { $0.log.framesRead }
    // What `trellis log` does: every commit, newest first, one at a time.
    for info in history { _ = try reopened.commit(info.id) }
    let decoded = try reopened.withIndex("r") { $0.log.framesRead } - before
    #expect(decoded <= 2, "\(decoded) frame decodes for 1,000 commits in 2 frames")
}

@Test func readingOneCommitOfALargeFrameDecodesOnlyThatCommit() throws {
    let dir = TemporaryDirectory()
    let engine = try StorageEngine.create(at: dir.file("store"))
    try engine.write((0..<2000).map { k in
        WriteRequest(repository: "r", key: "k\(k)", change: .put(Document([("n", .int(Int64(k)))])))
    })
    try engine.write([WriteRequest(repository: "r", key: "k7", change: .put(Document([("n", .int(-1))])))])
    let reopened = try StorageEngine.open(at: dir.file("store"))
    #expect(try reopened.withIndex("r") { $0.commitsDecoded } == 0, "opening decodes no documents")
    let history = try reopened.history("r", key: "k7")
    #expect(history.count == 2)
    let first = try reopened.commit(history[1].id)
    #expect(first.commit.document == Document([("n", .int(7))]))
    #expect(try reopened.withIndex("r") { $0.commitsDecoded } == 1)
    let batch = try reopened.withIndex("r") { (index) throws(TrellisError) in try index.signedCommits([history[1].id, history[0].id]) }
    #expect(batch.map(\.id) == [history[1].id, history[0].id])
}

@Test func aWriteClosureCallingBackIntoItsStoreStopsWithAMessage() async {
    await #expect(processExitsWith: .failure) {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine.create(at: dir.file("store"))
        try engine.write([WriteRequest(repository: "r", key: "k", change: .put(Document()))])
        try engine.write([WriteRequest(repository: "r", key: "k", change: .update { current throws(TrellisError) in
            _ = try engine.keys(in: "r")  // would wait for the write it is part of, forever
            return current ?? Document()
        })])
    }
}

/// A failed system call keeps its errno and path; codes are open-ended constants.
@Test func errorsKeepTheirCause() throws {
    let dir = TemporaryDirectory()
    let missing = dir.file("missing")
    #expect {
        _ = try FileSystem.readAll(missing)
    } throws: { error in
        guard let error = error as? TrellisError else { return false }
        return error.code == .notFound && error.cause?.errno == ENOENT && error.cause?.path == missing
    }
    let later = TrellisError.Code(rawValue: "some-future-code")
    #expect(later != .notFound && later.description == "some-future-code")
    let wrapped = TrellisError(.io, "disk full", cause: .init(errno: ENOSPC, path: "/x")).adding(context: "the write may not be durable")
    #expect(wrapped.message == "the write may not be durable: disk full" && wrapped.cause?.errno == ENOSPC)
}

/// A reader that found nothing new answers its next read from one `stat` of the log; every
/// write by another handle in between is still seen by the very next read: appends made within
/// one clock tick (the size changes), repacks (the log is replaced) and deletes.
@Test func aQuietReaderStillSeesEveryOtherWriter() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("store")
    let writer = try StorageEngine.create(at: path)
    try writer.write([WriteRequest(repository: "r", key: "k", change: .put(try doc(#"{"n": 0}"#)))])
    let reader = try StorageEngine.open(at: path)
    for n in 1...60 {
        let before = try doc("{\"n\": \(n - 1)}")
        #expect(try reader.merged("r", "k") == before)
        #expect(try reader.merged("r", "k") == before)  // the quiet path
        try writer.write([WriteRequest(repository: "r", key: "k", change: .put(try doc("{\"n\": \(n)}")))])
        if n % 20 == 0 { _ = try writer.repack() }
    }
    #expect(try reader.merged("r", "k") == (try doc(#"{"n": 60}"#)))
    try writer.write([WriteRequest(repository: "r", key: "k", change: .delete)])
    #expect(try reader.merged("r", "k") == nil)
    #expect(try reader.history("r").count == 62)
}
