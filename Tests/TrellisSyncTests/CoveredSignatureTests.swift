import Foundation
import Synchronization
import Testing
import TrellisCore
import TrellisCrypto
import TrellisStorage
import TrellisTestSupport
@testable import TrellisSync

/// RECORDS records × REVISIONS revisions, revision r of every record before revision r+1 of any
/// (so that arrival order scatters each record's commits), with a note of `noteBytes`.
private func writeRoundRobin(_ e: any RecordStore, records: Int, revisions: Int, noteBytes: Int) throws {
    var g = SplitMix(state: 9)
    for r in 0..<revisions {
        try e.write((0..<records).map { k in
            // Random letters: messages are compressed, and the test needs them large.
            let note = String((0..<noteBytes).map { _ in Character(Unicode.Scalar(UInt8.random(in: 97...122, using: &g))) })
            return WriteRequest(repository: "r", key: "k\(k)", change: .put(Document([("rev", .int(Int64(r))), ("note", .string(note))])))
        })
    }
}

private func signedCount(_ e: any RecordStore) throws -> (signed: Int, all: Int) {
    let commits = try e.history("r").map { try e.commit($0.id) }
    return (commits.filter { !$0.signature.isEmpty }.count, commits.count)
}

/// A repacked store keeps one signature per record (its newest commit's), and sends its history
/// over several messages (more than `SyncMessage.targetCommitBytes`) to a new store, directly
/// and by bundle; the receivers check the signatures that remain and store no others.
@Test(arguments: EngineKind.allCases) func coveredSignaturesTravelWithTheCommitsThatCoverThem(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try StorageEngine.create(at: dir.file("a"))
    try writeRoundRobin(a, records: 200, revisions: 12, noteBytes: 2_000)
    _ = try a.repack()
    let packed = try signedCount(a)
    #expect(packed.all == 2_400 && packed.signed == 200, "\(packed)")
    #expect(try Fsck.check(storeAt: dir.file("a")).isClean)

    let b = try engine.engine(dir, "b")
    let bodies = Mutex<[SyncBody]>([])
    let observer = Sync.Observer(trace: { bytes, _ in
        switch try? SyncMessage.decode(bytes) {
        case .sync(let body)?, .welcome(_, _, let body)?: bodies.withLock { $0.append(body) }
        default: break
        }
    })
    let report = try Sync.between(a, b, address: b.peerAddress, observer: observer)
    #expect(report.commitsSent == 2_400 && report.bytesSent > SyncMessage.targetCommitBytes)
    // A side still streaming sends no filter: the last message of its stream carries one.
    let streamed = bodies.withLock { $0 }
    #expect(streamed.filter(\.more).count >= 1)
    #expect(streamed.allSatisfy { !$0.more || $0.filter == nil })
    #expect(try state(b) == state(a))
    #expect(try signedCount(b).signed == 200)

    let c = try engine.engine(dir, "c")
    _ = try SyncBundle.apply(try SyncBundle.create(from: a).bytes, to: c)
    #expect(try state(c) == state(a))
    if engine == .file {
        for name in ["b", "c"] {
            let fsck = try Fsck.check(storeAt: dir.file(name))
            #expect(fsck.isClean, "\(name): \(fsck.problems)")
        }
    }
}

/// A store that still holds every signature (a format 1 sender, or an unsealed log) sends them
/// all; the receiver checks one per record and drops the rest unchecked.
@Test func aReceiverChecksOnlyTheSignaturesThatNothingCovers() throws {
    let dir = TemporaryDirectory()
    let a = try StorageEngine.create(at: dir.file("a"))
    try writeRoundRobin(a, records: 30, revisions: 5, noteBytes: 10)
    #expect(try signedCount(a).signed == 150)
    let b = try MemoryEngine()
    _ = try Sync.between(a, b, address: b.peerAddress)
    #expect(try signedCount(b) == (30, 150))
}

/// Without the commit that covers it, a commit whose signature was dropped is refused, alone or
/// with a forged signature on its cover; a cover by another author does not count.
@Test(arguments: EngineKind.allCases) func aDroppedSignatureWithoutItsCoverIsRefused(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try StorageEngine.create(at: dir.file("a"))
    try writeRoundRobin(a, records: 1, revisions: 3, noteBytes: 10)
    _ = try a.repack()
    let history = try a.history("r").reversed().map { try a.commit($0.id) }  // oldest first
    #expect(history.map { $0.signature.isEmpty } == [true, true, false])
    let b = try engine.engine(dir, "b")
    #expect(throws: TrellisError.self) { try b.receive(encoded: [WireCommit(history[0])]) }
    #expect(throws: TrellisError.self) { try b.receive(encoded: Array(history.prefix(2)).map(WireCommit.init)) }
    var forged = history[2].signature
    forged[0] ^= 1
    #expect(throws: TrellisError.self) {
        try b.receive(encoded: history.prefix(2).map(WireCommit.init) + [WireCommit(encoded: history[2].encoded, signature: forged)])
    }
    // Another author's signed commit on top covers nothing of a's.
    let other = try SigningKey.generate()
    let child = SignedCommit.sign(Commit(kind: .put, repository: "r", key: "k0", parents: [history[1].id],
                                         timestamp: HLCTimestamp(wallMillis: 1, logical: 0), author: nil, document: Document()), with: other)
    #expect(throws: TrellisError.self) { try b.receive(encoded: history.prefix(2).map(WireCommit.init) + [WireCommit(child)]) }
    #expect(try b.repositoryNames().isEmpty)
    try b.receive(encoded: history.map(WireCommit.init))
    #expect(try b.history("r").count == 3)
}

/// A format 1 store keeps every signature through repack, refuses a commit without one, and
/// `upgrade` moves it to format 3, which drops the covered ones and still checks out.
@Test func formatOneStoresKeepEverySignatureUntilUpgraded() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("old")
    _ = try StorageEngine.create(at: path)
    try Data("trellis-store 1\n".utf8).write(to: URL(fileURLWithPath: path + "/FORMAT"))
    var old = try StorageEngine.open(at: path)
    #expect(old.format == 1)
    try writeRoundRobin(old, records: 10, revisions: 4, noteBytes: 10)
    _ = try old.repack()
    #expect(try signedCount(old) == (40, 40))
    #expect(try Fsck.check(storeAt: path).isClean)

    let stripped = try StorageEngine.create(at: dir.file("new"))
    try writeRoundRobin(stripped, records: 1, revisions: 2, noteBytes: 10)
    _ = try stripped.repack()
    let commits = try stripped.history("r").reversed().map { try stripped.commit($0.id) }
    #expect(commits.first?.signature.isEmpty == true)
    #expect {
        try old.receive(encoded: commits.map(WireCommit.init))
    } throws: { ($0 as? TrellisError)?.message.contains("trellis upgrade") == true }

    #expect(try old.upgrade() == 1)
    #expect(old.format == 3)
    #expect(try String(contentsOfFile: path + "/FORMAT", encoding: .utf8) == "trellis-store 3\n")
    #expect(try signedCount(old) == (10, 40))
    #expect(try Fsck.check(storeAt: path).isClean)
    try old.receive(encoded: commits.map(WireCommit.init))
    old = try StorageEngine.open(at: path)
    #expect(old.format == 3)
    #expect(try old.upgrade() == 3)
    // A FORMAT this build does not know is refused with one clear error.
    try Data("trellis-store 9\n".utf8).write(to: URL(fileURLWithPath: path + "/FORMAT"))
    #expect { try StorageEngine.open(at: path) } throws: { ($0 as? TrellisError)?.message.contains("unknown store format") == true }
}
