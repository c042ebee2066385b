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
