import Foundation
import Synchronization
import Testing
import TrellisCore
import TrellisCrypto
import TrellisStorage
import TrellisTestSupport
@testable import TrellisSync

func doc(_ json: String) throws -> Document { try ValueJSON.document(fromJSON: json) }

func put(_ e: any RecordStore, _ repo: String, _ key: String, _ json: String) throws {
    try e.write([WriteRequest(repository: repo, key: key, change: .put(try doc(json)))])
}

/// Everything that must agree after a sync: every commit, every key's heads and document.
func state(_ e: any RecordStore) throws -> [String] {
    var out: [String] = []
    for repo in try e.repositoryNames() {
        var keys = Set<String>()
        for info in try e.history(repo) {
            out.append("\(repo) commit \(info.id.hex)")
            keys.insert(info.key)
        }
        for key in keys {
            let heads = try e.heads(repo, key).map(\.id.hex).sorted()
            let current = try e.current(repo, key)
            out.append("\(repo) \(key) heads \(heads) doc \(current.document.map { ValueJSON.text($0) } ?? "deleted")")
        }
    }
    return out.sorted()
}

@Test(arguments: EngineKind.allCases) func twoStoresExchangeWhatEachLacksAndAgree(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try engine.engine(dir, "a"), b = try engine.engine(dir, "b")
    try put(a, "notes", "n1", #"{"title": "from a", "n": 1}"#)
    try put(b, "notes", "n2", #"{"title": "from b"}"#)
    try put(b, "tasks", "t1", #"{"done": false}"#)
    let first = try Sync.between(a, b, address: "path:" + dir.file("b"))
    #expect(first.commitsSent == 1 && first.commitsReceived == 2)
    #expect(try state(a) == state(b))

    // Nothing new: one round trip, under 200 bytes both ways.
    let idle = try Sync.between(a, b, address: "path:" + dir.file("b"))
    #expect(idle.rounds == 1)
    #expect(idle.bytesSent + idle.bytesReceived < 200)
    #expect(idle.commitsSent == 0 && idle.commitsReceived == 0)

    // Concurrent edits of one record on both sides: both get the same merge.
    try put(a, "notes", "n1", #"{"title": "edited on a", "n": 1}"#)
    try put(b, "notes", "n1", #"{"title": "from a", "n": 2}"#)
    let again = try Sync.between(a, b, address: "path:" + dir.file("b"))
    #expect(again.commitsSent == 1 && again.commitsReceived == 1)
    // Three round trips, or four when a freshly salted filter happens to hide one of the two new
    // commits (a false positive, about 1% per filter; it happened once in 18 runs here).
    #expect(again.rounds <= 4)
    #expect(try state(a) == state(b))
    try a.mergeHeads("notes", "n1")
    try b.mergeHeads("notes", "n1")
    #expect(try a.current("notes", "n1").head.id == b.current("notes", "n1").head.id)
    try Sync.between(b, a, address: "path:" + dir.file("a"))
    #expect(try state(a) == state(b))
}

@Test(arguments: EngineKind.allCases) func laterSyncsFilterOnlyWhatChangedSince(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try engine.engine(dir, "a"), b = try engine.engine(dir, "b")
    var batch: [WriteRequest] = []
    for i in 0..<2000 { batch.append(WriteRequest(repository: "r", key: "k\(i)", change: .put(try doc(#"{"i": \#(i)}"#)))) }
    try a.write(batch)
    let first = try Sync.between(a, b, address: "b")
    #expect(first.commitsSent == 2000)
    for i in 0..<5 { try put(a, "r", "k\(i)", #"{"i": -1}"#); try put(b, "r", "k\(i + 100)", #"{"i": -2}"#) }
    let seen = Mutex<[Int]>([])
    let observer = Sync.Observer(trace: { bytes, _ in
        switch try? SyncMessage.decode(bytes) {
        case .hello(let h)?: seen.withLock { $0.append(h.filter.count) }
        case .welcome(_, _, let body)?, .sync(let body)?: if let f = body.filter { seen.withLock { $0.append(f.count) } }
        default: break
        }
    })
    let second = try Sync.between(a, b, address: "b", observer: observer)
    let filters = seen.withLock { $0 }
    #expect(second.commitsSent == 5 && second.commitsReceived == 5)
    // The HELLO's filter covers a's 5 new commits and the WELCOME's b's 5, out of 2,010.
    #expect(Array(filters.prefix(2)) == [5, 5])
    #expect(filters.allSatisfy { $0 <= 10 })
    // Filters cover ten commits, not two thousand: the whole exchange is a few KB.
    let newBytes = try (a.arrivals(in: "r", since: 2000).ids).count
    #expect(newBytes == 10)
    #expect(second.bytesSent + second.bytesReceived < 10 * 200 + 2048)
    #expect(try state(a) == state(b))

    // A store that lost its state (or a stranger) falls back to everything, and still converges.
    try b.saveSetting(.peerState(peer: "key:" + Hex.encode(try a.identity.publicKey.bytes)), [])
    try put(a, "r", "k1", #"{"i": -3}"#)
    let third = try Sync.between(a, b, address: "b")
    #expect(third.commitsSent == 1 && third.commitsReceived == 0)
    #expect(try state(a) == state(b))
}

@Test(arguments: EngineKind.allCases) func selectedRepositoriesOnly(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try engine.engine(dir, "a"), b = try engine.engine(dir, "b")
    try put(a, "one", "k", #"{"x": 1}"#)
    try put(a, "two", "k", #"{"x": 2}"#)
    try Sync.between(a, b, address: "b", repositories: ["one"])
    #expect(try b.repositoryNames() == ["one"])
    #expect(throws: TrellisError.self) { try Sync.between(a, b, address: "b", repositories: ["../x"]) }
}

@Test func bloomFiltersHaveNoFalseNegativesAndFewFalsePositives() throws {
    let ids = (0..<5000).map { CommitID.of(Array("id \($0)".utf8)) }
    let filter = try BloomFilter(ids)
    #expect(ids.allSatisfy(filter.contains))
    let others = (0..<20000).map { CommitID.of(Array("other \($0)".utf8)) }
    let rate = Double(others.filter(filter.contains).count) / Double(others.count)
    #expect(rate < 0.02)
    // Round trip through bytes, and a second filter with a new salt has other false positives.
    var w = ByteWriter()
    filter.write(to: &w)
    var r = ByteReader(w.bytes)
    #expect(try BloomFilter.read(from: &r) == filter)
    let second = try BloomFilter(ids)
    #expect(second.salt != filter.salt)
    let both = others.filter { filter.contains($0) && second.contains($0) }.count
    #expect(Double(both) / Double(others.count) < rate)
}

/// Found through a CLI test that failed about once in 70 runs: a client that may only read,
/// holding a commit of its own, sometimes ended its pull before receiving the server's commit.
/// The first-contact HELLO's filter is not tested by the responder, yet its idle WELCOME counted
/// as one of the two idle rounds that end a pull, so one false positive in the next filter ended
/// the session. Here that filter is made all false positives, deterministically.
@Test(arguments: EngineKind.allCases) func oneFalsePositiveNeverEndsAPullEarly(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let a = try engine.engine(dir, "a"), b = try engine.engine(dir, "b")
    try put(a, "tasks", "t1", #"{"title": "one"}"#)
    try put(b, "tasks", "x", #"{"mine": true}"#)
    let initiator = try SyncInitiator(engine: b, address: "a", repositories: ["tasks"], pushable: [], writers: [:])
    let responder = SyncResponder(engine: a)
    var saturated = 0
    let report = try Sync.run(initiator) { (request: [UInt8]) throws(TrellisError) in
        guard saturated == 0, case .sync(var body)? = try? SyncMessage.decode(request), let filter = body.filter, filter.count > 0 else {
            return responder.handle(request)
        }
        var w = ByteWriter()
        filter.write(to: &w)
        var bytes = w.bytes
        for i in (bytes.count - (filter.bitCount + 7) / 8)..<bytes.count { bytes[i] = 0xFF }
        var r = ByteReader(bytes)
        body.filter = try BloomFilter.read(from: &r)
        saturated += 1
        return responder.handle(SyncMessage.sync(body).encoded())
    }
    #expect(saturated == 1)
    #expect(report.commitsReceived == 1 && report.commitsWithheld == 1, "\(report)")
    #expect(try b.keys(in: "tasks") == ["t1", "x"])
}
