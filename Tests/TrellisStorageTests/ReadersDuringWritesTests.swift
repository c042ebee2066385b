import Foundation
import Synchronization
import Testing
import TrellisCore
import TrellisTestSupport
@testable import TrellisStorage

// A writer holds the engine's in-process lock only while it changes the index: readers in the
// same process keep reading while it waits for another process's lock, fsyncs, seals or repacks.

/// Runs `write` and, the first time the group leader reaches `step`, reads the store from
/// another thread. Returns whether that read finished while the leader was still at `step`.
private func readsFinish(during step: StorageEngine.LeaderStep, in engine: StorageEngine,
                         then release: @escaping @Sendable () -> Void = {},
                         _ write: () throws -> Void) throws -> Bool {
    let outcome = Mutex<Bool?>(nil)
    engine.onLeaderStep = { reached in
        guard reached == step, outcome.withLock({ $0 == nil }) else { return }
        let done = DispatchSemaphore(value: 0)
        let read = Mutex<[String]>([])
        Thread.detachNewThread {
            read.withLock { $0 = (try? engine.keys(in: "r")) ?? [] }
            done.signal()
        }
        // Generous: a blocked read never finishes while the leader waits here.
        let finished = done.wait(timeout: .now() + 5) == .success
        outcome.withLock { $0 = finished && read.withLock { $0 } == ["a"] }
        release()
    }
    try write()
    engine.onLeaderStep = nil
    return outcome.withLock { $0 } ?? false
}

private func storeWithOneRecord(_ dir: TemporaryDirectory) throws -> StorageEngine {
    let engine = try StorageEngine.create(at: dir.file("s"))
    try engine.write([WriteRequest(repository: "r", key: "a", change: .put(try doc(#"{"v": 1}"#)))])
    return engine
}

@Test func readersKeepReadingWhileAWriterWaitsForAnotherProcesssLock() throws {
    let dir = TemporaryDirectory()
    let engine = try storeWithOneRecord(dir)
    // flock is per open file, so a second open of the lock file stands in for another process.
    let other = open(dir.file("s") + "/lock", O_RDWR)
    defer { close(other) }
    #expect(flock(other, LOCK_EX | LOCK_NB) == 0)
    let held = Mutex(true)
    let read = try readsFinish(during: .waitingForLock, in: engine, then: {
        held.withLock { $0 = false }
        flock(other, LOCK_UN)
    }) {
        try engine.write([WriteRequest(repository: "r", key: "a", change: .put(try doc(#"{"v": 2}"#)))])
    }
    #expect(read, "a read waited for another process's write lock")
    #expect(!held.withLock { $0 })
    #expect(try engine.current("r", "a").document == (try doc(#"{"v": 2}"#)))
}

@Test func readersKeepReadingWhileAWriterFsyncs() throws {
    let dir = TemporaryDirectory()
    let engine = try storeWithOneRecord(dir)
    let read = try readsFinish(during: .syncing, in: engine) {
        try engine.write([WriteRequest(repository: "r", key: "a", change: .put(try doc(#"{"v": 2}"#)))])
    }
    #expect(read, "a read waited for a writer's fsync")
}

@Test func readersKeepReadingWhileALogIsSealedOrRepacked() throws {
    let dir = TemporaryDirectory()
    let engine = try storeWithOneRecord(dir)
    engine.sealThreshold = 1  // every write seals its log into a pack
    let sealed = try readsFinish(during: .sealing, in: engine) {
        try engine.write([WriteRequest(repository: "r", key: "a", change: .put(try doc(#"{"v": 2}"#)))])
    }
    #expect(sealed, "a read waited for a seal")
    #expect(try engine.withIndex("r") { $0.packs.count } >= 1)
    let repacked = try readsFinish(during: .sealing, in: engine) { _ = try engine.repack(["r"]) }
    #expect(repacked, "a read waited for a repack")
    #expect(try engine.withIndex("r") { $0.packs.count } == 1)
    #expect(try engine.withIndex("r") { $0.log.isEmpty })
    let reopened = try StorageEngine.open(at: dir.file("s"))
    #expect(try reopened.current("r", "a").document == (try doc(#"{"v": 2}"#)))
    #expect(try reopened.history("r").count == 2)
}
