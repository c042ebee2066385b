import Foundation
import Testing
import TrellisCore
import TrellisCrypto
import TrellisStorage
import TrellisTestSupport
@testable import TrellisSync

/// Two stores with history; b has not seen a's commits. Returns a responder already past HELLO.
func openSession(_ dir: TemporaryDirectory, _ engine: EngineKind) throws -> (a: any RecordStore, b: any RecordStore, responder: SyncResponder, hello: [UInt8]) {
    let a = try engine.engine(dir, "a"), b = try engine.engine(dir, "b")
    try put(a, "r", "k", #"{"x": 1}"#)
    try put(b, "r", "other", #"{"y": 2}"#)
    let hello = try SyncInitiator(engine: a, address: "b").hello()
    return (a, b, SyncResponder(engine: b), hello)
}

func isError(_ reply: [UInt8]) -> String? {
    if case .error(let text)? = try? SyncMessage.decode(reply) { return text }
    return nil
}

@Test(arguments: EngineKind.allCases) func malformedTruncatedAndOversizedMessagesAreRefused(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let (a, b, _, hello) = try openSession(dir, engine)
    let before = try state(b)
    var bad: [[UInt8]] = [[], [1], [2, 1], [1, 9], hello + [0], [UInt8](repeating: 0xFF, count: 100)]
    for n in 0..<hello.count { bad.append(Array(hello.prefix(n))) }
    bad.append([UInt8](repeating: 1, count: SyncMessage.maxMessageBytes + 1))
    var rng = SplitMix(state: 7)
    for _ in 0..<200 {
        var m = hello
        m[Int(rng.next() % UInt64(m.count))] ^= UInt8(1 + rng.next() % 255)
        bad.append(m)
    }
    for message in bad {
        let responder = SyncResponder(engine: b)
        let reply = responder.handle(message)
        // A flipped byte inside a digest or salt is still a well-formed HELLO: it must not crash.
        if isError(reply) != nil { #expect(responder.failure != nil) }
    }
    for message in bad.prefix(6 + hello.count) {
        #expect(isError(SyncResponder(engine: b).handle(message)) != nil)
    }
    #expect(try state(b) == before)
    // The initiator refuses malformed replies the same way, and stores nothing.
    let initiator = try SyncInitiator(engine: a, address: "b")
    _ = try initiator.hello()
    #expect(throws: TrellisError.self) { _ = try initiator.handle([1, 2, 0xFF]) }
    #expect(try a.history("r").count == 1)
}

@Test(arguments: EngineKind.allCases) func filtersWithAbsurdParametersAreRefused(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let (_, b, _, _) = try openSession(dir, engine)
    func hello(filter: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.u8(1); w.u8(1)
        w.raw([UInt8](repeating: 3, count: 32)); w.raw([UInt8](repeating: 0, count: 32))
        w.varint(0)
        w.raw([UInt8](repeating: 0, count: 32))
        w.raw(filter)
        return w.bytes
    }
    func filter(n: UInt64, k: UInt8, m: UInt64, bytes: Int? = nil) -> [UInt8] {
        var w = ByteWriter()
        w.varint(n); w.raw([UInt8](repeating: 9, count: 16)); w.u8(k); w.varint(m)
        w.raw([UInt8](repeating: 0xFF, count: bytes ?? Int((m + 7) / 8)))
        return w.bytes
    }
    let absurd: [[UInt8]] = [
        filter(n: 10, k: 0, m: 100),
        filter(n: 10, k: 33, m: 100),
        filter(n: 10, k: 255, m: 100),
        filter(n: 1, k: 7, m: 1 << 40, bytes: 16),
        filter(n: 1, k: 7, m: 1 << 20, bytes: 16),  // far more bits than entries warrant
        filter(n: 10, k: 7, m: 4),
        filter(n: 1 << 30, k: 7, m: 100),
        filter(n: 10, k: 7, m: 800, bytes: 50),  // bits truncated
    ]
    for f in absurd {
        let responder = SyncResponder(engine: b)
        #expect(isError(responder.handle(hello(filter: f))) != nil)
    }
    // The same frame with sane parameters is accepted.
    #expect(isError(SyncResponder(engine: b).handle(hello(filter: filter(n: 10, k: 7, m: 104)))) == nil)
}

/// Sends commits in a SYNC after a valid HELLO; returns the reply.
func push(_ commits: [WireCommit], to responder: SyncResponder, hello: [UInt8]) -> [UInt8] {
    _ = responder.handle(hello)
    return responder.handle(SyncMessage.sync(SyncBody(digest: [UInt8](repeating: 0, count: 32), commits: commits)).encoded())
}

@Test(arguments: EngineKind.allCases) func badSignaturesAndForgedMergesRejectTheirWholeBatch(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let (a, b, _, hello) = try openSession(dir, engine)
    try put(a, "r", "k", #"{"x": 2}"#)
    let mine = try a.commits(in: "r", try a.arrivals(in: "r", since: 0).ids).map(WireCommit.init)
    let before = try state(b)

    var flipped = mine
    var sig = flipped[1].signature
    sig[5] ^= 1
    flipped[1] = WireCommit(encoded: flipped[1].encoded, signature: sig)
    let r1 = SyncResponder(engine: b)
    let e1 = isError(push(flipped, to: r1, hello: hello))
    #expect(e1?.contains("signature") == true)
    #expect(try state(b) == before)  // the good first commit of the batch is not stored either

    // A forged merge: two real heads, and a "merge" whose document is not their merge.
    try a.write([WriteRequest(repository: "r", key: "k", change: .put(try doc(#"{"x": 3}"#)), parents: [CommitID.of(mine[0].encoded)])])
    let heads = try a.heads("r", "k")
    #expect(heads.count == 2)
    let forged = SignedCommit.merge(Commit(kind: .merge, repository: "r", key: "k", parents: heads.map(\.id),
                                           timestamp: heads[0].timestamp, author: nil, document: try doc(#"{"x": 999}"#)))
    let all = try a.commits(in: "r", try a.arrivals(in: "r", since: 0).ids).map(WireCommit.init) + [WireCommit(forged)]
    let r2 = SyncResponder(engine: b)
    let e2 = isError(push(all, to: r2, hello: hello))
    #expect(e2?.contains("merge") == true)
    #expect(try state(b) == before)

    // The same batch with the true merge is stored whole.
    let real = try a.mergeHeads("r", "k")
    let good = try a.commits(in: "r", try a.arrivals(in: "r", since: 0).ids).map(WireCommit.init)
    #expect(good.last.map { CommitID.of($0.encoded) } == real.id)
    let r3 = SyncResponder(engine: b)
    #expect(isError(push(good, to: r3, hello: hello)) == nil)
    #expect(try b.history("r", key: "k").count == 4)
}

@Test(arguments: EngineKind.allCases) func commitsOutsideTheSelectionAndUnknownNeedsAreRefused(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let (a, b, _, _) = try openSession(dir, engine)
    try put(a, "secret", "s", #"{"z": 1}"#)
    let narrow = try SyncInitiator(engine: a, address: "b", repositories: ["r"]).hello()
    let outside = try a.commits(in: "secret", try a.arrivals(in: "secret", since: 0).ids).map(WireCommit.init)
    #expect(isError(push(outside, to: SyncResponder(engine: b), hello: narrow)) != nil)
    #expect(try !b.repositoryNames().contains("secret"))

    // Asking the responder for a commit it lacks, or one outside the selection.
    let r = SyncResponder(engine: b)
    _ = r.handle(narrow)
    let unknown = SyncMessage.sync(SyncBody(digest: [UInt8](repeating: 0, count: 32), need: [CommitID.of([1, 2, 3])])).encoded()
    #expect(isError(r.handle(unknown)) != nil)
    try put(b, "hidden", "h", #"{"q": 1}"#)
    let hiddenID = try b.arrivals(in: "hidden", since: 0).ids[0]
    let r2 = SyncResponder(engine: b)
    _ = r2.handle(narrow)
    let ask = SyncMessage.sync(SyncBody(digest: [UInt8](repeating: 0, count: 32), need: [hiddenID])).encoded()
    #expect(isError(r2.handle(ask)) != nil)
}
