import Foundation
import Testing
import Trellis
import TrellisTestSupport

// README-BEGIN
struct Task: Codable, Equatable {
    var title: String
    var done: Bool
    var tags: Set<String>
}

func readmeExample(path: String) throws -> (Task?, Int) {
    let store = try Store.open(path)
    let tasks = try store.repository("tasks")
    try tasks.put("t1", value: Task(title: "Write docs", done: false, tags: ["docs"]))
    try tasks.put("t1", value: Task(title: "Write docs", done: true, tags: ["docs"]))
    let task = try tasks.get("t1", as: Task.self)
    let history = try tasks.history("t1")  // newest first
    for change in try tasks.diff("t1").changes { print(change.pathString, change.kind) }  // done changed
    return (task, history.count)
}
// README-END

@Test func readmeExampleRuns() throws {
    let dir = TemporaryDirectory()
    let (task, versions) = try readmeExample(path: dir.file("store"))
    #expect(task == Task(title: "Write docs", done: true, tags: ["docs"]))
    #expect(versions == 2)
}

/// The README shows exactly the code this test runs.
@Test func readmeShowsTheTestedExample() throws {
    let source = try String(contentsOfFile: #filePath, encoding: .utf8)
    let readme = try String(contentsOfFile: TestPaths.packageRoot + "/README.md", encoding: .utf8)
    let begin = source.range(of: "// README-BEGIN\n")!, end = source.range(of: "// README-END")!
    let example = String(source[begin.upperBound..<end.lowerBound])
    #expect(readme.contains(example))
}

// README-ASYNC-BEGIN
struct Todo: Codable, Sendable, Equatable { var title: String; var done: Bool }

func asyncExample(store: Store) async throws {
    let todos = try store.repository("todos")
    let changes = todos.changes()  // every change from now on: this process, others, sync
    try await todos.put("a", value: Todo(title: "write", done: false))
    try await store.write { tx in
        let a = try tx.get("todos", "a", as: Todo.self)
        try tx.put("todos", "b", value: Todo(title: (a?.title ?? "") + " more", done: false))
    }
    try await todos.update("a", as: Todo.self) { $0.done = true }
    let b = try await todos.get("b", as: Todo.self)  // "write more"
    print(b?.title ?? "")
    for try await change in changes.prefix(3) { print(change.key) }  // a, b, a
    let memory = try Store.inMemory()  // a store in memory, for tests and previews
    try await memory.sync(with: store)
    print(try await memory.repository("todos").get("b", as: Todo.self)?.title ?? "")
}
// README-ASYNC-END

@Test func readmeAsyncExampleRunsAndIsShown() async throws {
    let dir = TemporaryDirectory()
    let store = try Store.open(dir.file("store"))
    try await asyncExample(store: store)
    #expect(try await store.repository("todos").get("a", as: Todo.self) == Todo(title: "write", done: true))
    #expect(try await store.repository("todos").get("b", as: Todo.self) == Todo(title: "write more", done: false))
    let source = try String(contentsOfFile: #filePath, encoding: .utf8)
    let readme = try String(contentsOfFile: TestPaths.packageRoot + "/README.md", encoding: .utf8)
    let begin = try #require(source.range(of: "// README-ASYNC-BEGIN\n")), end = try #require(source.range(of: "// README-ASYNC-END"))
    #expect(readme.contains(String(source[begin.upperBound..<end.lowerBound])))
    let article = try String(contentsOfFile: TestPaths.packageRoot + "/Sources/Trellis/Trellis.docc/GettingStarted.md", encoding: .utf8)
    #expect(article.contains(String(source[begin.upperBound..<end.lowerBound])))
}
