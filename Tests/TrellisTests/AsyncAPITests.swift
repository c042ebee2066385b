import Foundation
import Synchronization
import Testing
import Trellis
import TrellisTestSupport

// `Todo` is the README's (ReadmeExampleTests.swift).

private struct Counter: Codable, Sendable {
    var n: Int
}

@Test(arguments: EngineKind.allCases) func asyncPutGetAndTypedUpdate(engine: EngineKind) async throws {
    let dir = TemporaryDirectory()
    let todos = try engine.store(dir, "s").repository("todos")
    try await todos.put("a", value: Todo(title: "write", done: false))
    try await todos.update("a", as: Todo.self) { $0.done = true }
    #expect(try await todos.get("a", as: Todo.self) == Todo(title: "write", done: true))
    #expect(try await todos.keys() == ["a"])
    #expect(try await todos.history("a").count == 2)
    // A typed update of a record that does not exist stores nothing.
    await #expect(throws: TrellisError.self) { try await todos.update("missing", as: Todo.self) { $0.done = true } }
    #expect(try await todos.keys() == ["a"])
}

/// Codable get-then-put from concurrent writers loses updates; a typed update decodes, changes
/// and stores under the write lock, so none is lost.
@Test(arguments: EngineKind.allCases) func concurrentTypedUpdatesLoseNothing(engine: EngineKind) async throws {
    let dir = TemporaryDirectory()
    let counters = try engine.store(dir, "s").repository("counters")
    try await counters.put("c", value: Counter(n: 0))
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<4 {
            group.addTask {
                for _ in 0..<25 { try await counters.update("c", as: Counter.self) { $0.n += 1 } }
            }
        }
        try await group.waitForAll()
    }
    #expect(try await counters.get("c", as: Counter.self)?.n == 100)
    #expect(try counters.heads("c").count == 1)
}

private struct Refused: Error, Equatable {}

@Test(arguments: EngineKind.allCases) func transactionsReadTheirOwnWritesAndCommitAllOrNothing(engine: EngineKind) async throws {
    let dir = TemporaryDirectory()
    let store = try engine.store(dir, "s")
    try await store.repository("todos").put("a", value: Todo(title: "write", done: false))
    let seen = try await store.write { tx -> [String?] in
        let before = try tx.get("todos", "b", as: Todo.self)?.title
        let a = try tx.get("todos", "a", as: Todo.self)
        try tx.put("todos", "b", value: Todo(title: (a?.title ?? "") + " more", done: false))
        try tx.put("lists", "l", value: ["todos": ["a", "b"]])
        try tx.delete("todos", "a")
        return [before, try tx.get("todos", "b", as: Todo.self)?.title, try tx.get("todos", "a", as: Todo.self)?.title]
    }
    #expect(seen == [nil, "write more", nil])
    #expect(try await store.repository("todos").keys() == ["b"])
    #expect(try await store.repository("lists").keys() == ["l"])

    // An error of the caller's own, thrown after writes, stores none of them and comes back as is.
    await #expect(throws: Refused.self) {
        try await store.write { tx in
            try tx.put("todos", "c", value: Todo(title: "c", done: true))
            try tx.put("other", "x", value: Todo(title: "x", done: true))
            throw Refused()
        }
    }
    #expect(try await store.repository("todos").keys() == ["b"])
    #expect(try store.repositoryNames() == ["lists", "todos"])
    // A transaction that escapes its closure cannot write.
    let escaped = try await store.write { tx in Box(tx) }
    #expect(throws: TrellisError.self) { try escaped.value.put("todos", "late", value: Todo(title: "late", done: false)) }
}

private final class Box<T>: @unchecked Sendable {  // only to smuggle a transaction out in the test above
    let value: T
    init(_ value: T) { self.value = value }
}

/// An `await`ed write that waits for another process's lock parks no cooperative thread:
/// reads (and everything else) keep running meanwhile.
@Test func awaitedWritesNeverBlockTheCooperativePool() async throws {
    let dir = TemporaryDirectory()
    let store = try Store.open(dir.file("s"))
    let todos = try store.repository("todos")
    try await todos.put("a", value: Todo(title: "a", done: false))
    // flock is per open file: a second open of the lock file stands in for another process.
    let other = open(dir.file("s") + "/lock", O_RDWR)
    defer { close(other) }
    #expect(flock(other, LOCK_EX | LOCK_NB) == 0)
    let writes = _Concurrency.Task {
        try await withThrowingTaskGroup(of: CommitID.self) { group in
            // More waiting writers than this machine has cooperative threads.
            for i in 0..<(2 * ProcessInfo.processInfo.activeProcessorCount + 2) {
                group.addTask { try await todos.put("w\(i)", value: Todo(title: "w", done: false)) }
            }
            return try await group.reduce(into: 0) { n, _ in n += 1 }
        }
    }
    try await _Concurrency.Task.sleep(nanoseconds: 200_000_000)
    #expect(try await todos.get("a", as: Todo.self)?.title == "a", "a read ran while writers waited")
    flock(other, LOCK_UN)
    #expect(try await writes.value == 2 * ProcessInfo.processInfo.activeProcessorCount + 2)
}
