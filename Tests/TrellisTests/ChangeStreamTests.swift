import Foundation
import Testing
import Trellis
import TrellisTestSupport

/// Takes changes from `stream` until `count` have arrived or `seconds` pass.
private func take(_ count: Int, from stream: Repository.Changes, within seconds: Double = 20) async throws -> [Change] {
    try await withThrowingTaskGroup(of: [Change].self) { group in
        group.addTask {
            var out: [Change] = []
            for try await change in stream {
                out.append(change)
                if out.count == count { break }
            }
            return out
        }
        group.addTask {
            try await _Concurrency.Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return []
        }
        let first = try await group.next() ?? []
        group.cancelAll()
        return first
    }
}

/// One stream sees this process's writes, another process's writes on the same store and
/// commits received by sync, in arrival order; it starts when made and keeps what arrives
/// until it is iterated.
@Test func localChangesCoverThisProcessOtherProcessesAndSync() async throws {
    let dir = TemporaryDirectory()
    let store = try Store.open(dir.file("s"))
    let todos = try store.repository("todos")
    try await todos.put("before", value: Todo(title: "not seen", done: false))
    let all = todos.changes()
    let onlyB = todos.changes("b")
    try await todos.put("a", value: Todo(title: "here", done: false))
    let other = try trellis(["put", "todos", "b", "--json", #"{"title": "there", "done": false}"#], store: dir.file("s"))
    #expect(other.status == 0, "\(other.stderr)")
    let peer = try Store.open(dir.file("peer"))
    try await peer.repository("todos").put("c", value: Todo(title: "synced", done: true))
    try await store.sync(with: peer)
    try await todos.delete("a")
    // Nothing was iterated until now: all four arrive, oldest first.
    let changes = try await take(4, from: all)
    #expect(changes.map(\.key) == ["a", "b", "c", "a"])
    #expect(changes.last?.document == nil)
    #expect(changes.first?.document?["title"] == .string("here"))
    #expect(try await take(1, from: onlyB).map(\.key) == ["b"])
}

@Test func aStreamWakesForNewWritesWhileItWaits() async throws {
    let dir = TemporaryDirectory()
    let store = try Store.open(dir.file("s"))
    let todos = try store.repository("todos")
    let stream = todos.changes()
    let waiting = _Concurrency.Task { try await take(2, from: stream) }
    try await _Concurrency.Task.sleep(nanoseconds: 100_000_000)  // the stream is waiting now
    try await todos.put("x", value: Todo(title: "x", done: false))
    let other = try trellis(["put", "todos", "y", "--json", #"{"title": "y", "done": false}"#], store: dir.file("s"))
    #expect(other.status == 0, "\(other.stderr)")
    #expect(try await waiting.value.map(\.key) == ["x", "y"])
}

@Test(arguments: EngineKind.allCases) func observeYieldsTheCurrentDocumentThenEachNewOne(engine: EngineKind) async throws {
    let dir = TemporaryDirectory()
    let todos = try engine.store(dir, "s").repository("todos")
    try await todos.put("a", value: Todo(title: "one", done: false))
    var seen: [String?] = []
    let observation = todos.observe("a")
    try await todos.update("a", as: Todo.self) { $0.title = "two" }
    try await todos.put("other", value: Todo(title: "ignored", done: false))
    try await todos.delete("a")
    for try await document in observation {
        seen.append(document.map { d in if case .string(let s)? = d["title"] { s } else { "?" } } ?? nil)
        if document == nil { break }
    }
    // The first value is the document when `observe` was called; "two" may be folded into the
    // deletion when both landed before the stream read.
    #expect(seen.first == "one")
    #expect(seen.last == .some(nil))
    #expect(seen.count == 2 || seen == ["one", "two", nil])
}
