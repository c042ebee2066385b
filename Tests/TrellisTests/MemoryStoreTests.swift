import Foundation
import Testing
import Trellis
import TrellisStorage
import TrellisTestSupport

// The in-memory engine against the file engine and against the rules both must keep.

private func doc(_ json: String) throws -> Document { try ValueJSON.document(fromJSON: json) }

/// A write batch that fails part way leaves no trace in memory: no commit, no head moved, no
/// repository created, no arrival number used.
@Test func aFailedBatchInMemoryLeavesNoTrace() throws {
    let store = try Store.inMemory()
    let r = try store.repository("r")
    try r.put("k", try doc(#"{"v": 1}"#))
    let before = try store.engine.syncView("r")
    let failing = [
        WriteRequest(repository: "r", key: "k", change: .put(try doc(#"{"v": 2}"#))),
        WriteRequest(repository: "new", key: "x", change: .put(try doc(#"{"v": 3}"#))),
        WriteRequest(repository: "r", key: "missing", change: .delete),
    ]
    #expect(throws: TrellisError.self) { try store.write(failing) }
    #expect(try store.engine.syncView("r") == before)
    #expect(try store.repositoryNames() == ["r"])
    #expect(try r.get("k") == doc(#"{"v": 1}"#))
    #expect(try r.history("k").count == 1)
    // And the store still writes.
    try r.put("k", try doc(#"{"v": 4}"#))
    #expect(try r.history("k").count == 2)
}

/// A transaction that throws rolls back in memory too, and a received batch with one bad
/// commit stores none of it.
@Test func transactionsAndReceivedBatchesAreAllOrNothingInMemory() async throws {
    struct Stop: Error {}
    let store = try Store.inMemory()
    await #expect(throws: Stop.self) {
        try await store.write { tx in
            try tx.put("r", "a", value: ["v": 1])
            throw Stop()
        }
    }
    #expect(try store.repositoryNames().isEmpty)
    let source = try Store.inMemory()
    try await source.repository("r").put("a", value: ["v": 1])
    try await source.repository("r").put("a", value: ["v": 2])
    var commits = try await source.repository("r").history("a").reversed().map { try source.commit($0.id) }
    commits[1] = SignedCommit(commit: commits[1].commit, id: commits[1].id, encoded: commits[1].encoded,
                              signature: [UInt8](repeating: 7, count: 64))
    #expect(throws: TrellisError.self) { try store.receive(commits) }
    #expect(try store.repositoryNames().isEmpty)
}

/// A store in memory and a store directory, edited concurrently and synced, compute the same
/// merge commit byte for byte, and bundles carry commits between them.
@Test func memoryAndFileStoresAgreeOnMergesAndBundles() throws {
    let dir = TemporaryDirectory()
    let file = try Store.open(dir.file("f")), memory = try Store.inMemory()
    try file.repository("r").put("k", try doc(#"{"a": 1, "b": 1, "t": {"$text": "one\ntwo\n"}}"#))
    try memory.sync(with: file)
    try file.repository("r").put("k", try doc(#"{"a": 2, "b": 1, "t": {"$text": "one\ntwo\nthree\n"}}"#))
    try memory.repository("r").put("k", try doc(#"{"a": 1, "b": 3, "t": {"$text": "zero\none\ntwo\n"}}"#))
    try memory.sync(with: file)
    let m1 = try memory.repository("r").merge("k"), m2 = try file.repository("r").merge("k")
    #expect(m1.id == m2.id)
    #expect(try memory.repository("r").get("k") == doc(#"{"a": 2, "b": 3, "t": {"$text": "zero\none\ntwo\nthree\n"}}"#))
    #expect(try memory.sync(with: file).commitsSent == 0)

    let other = try Store.inMemory()
    let made = try SyncBundle.create(from: memory.engine)
    #expect(made.report.commits == 4)
    #expect(try SyncBundle.apply(made.bytes, to: other.engine).commits == 4)
    #expect(try other.repository("r").heads("k").map(\.id) == [m1.id])
    #expect(throws: TrellisError.self) { try memory.sync(with: memory) }
}

/// Random operations on small key and value ranges, replayed on a store in memory and a store
/// directory: every record reads the same on both, after every step (ids differ: each store
/// signs with its own identity and clock).
@Test(arguments: [21, 22, 23])
func randomOperationsReadTheSameOnBothEngines(seed: UInt64) throws {
    var rng = SplitMix(state: seed)
    let dir = TemporaryDirectory()
    let stores = [try Store.open(dir.file("f")), try Store.inMemory()]
    let keys = ["a", "b", "c"]
    for step in 0..<120 {
        let key = keys[Int(rng.next() % 3)], value = Int(rng.next() % 3)
        let op = rng.next() % 6
        for store in stores {
            let r = try store.repository(["x", "y"][step % 2])
            switch op {
            case 0: _ = try? r.delete(key)
            case 1: try r.update(key) { (d: inout Document) throws(TrellisError) in
                let n: Int64 = if case .int(let n)? = d["n"] { n } else { 0 }
                d["n"] = .int(n + Int64(value))
            }
            default: try r.put(key, try doc(#"{"v": \#(value), "w": \#(step % 2)}"#))
            }
        }
        for name in ["x", "y"] {
            let views = try stores.map { s in
                try s.repository(name).keys().map { k in "\(k)=\(try s.repository(name).get(k).map { ValueJSON.text($0) } ?? "-")" }
            }
            #expect(views[0] == views[1], "seed \(seed) step \(step)")
        }
    }
}
