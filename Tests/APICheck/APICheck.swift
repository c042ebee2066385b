// The program of issue 14, unchanged: it must compile and run against the package. The CLI
// tests run it (`apiCheckProgramRuns`); the README shows its core.
import Trellis

struct Todo: Codable, Sendable, Equatable { var title: String; var done: Bool }

@main struct APICheck {
    static func main() async throws {
        let store = try Store.open(CommandLine.arguments[1])
        let todos = try store.repository("todos")
        let changes = todos.changes()
        let seen = Task { () async throws -> Set<String> in
            var keys: Set<String> = []
            for try await change in changes { keys.insert(change.key); if keys.count == 3 { break } }
            return keys
        }
        try await todos.put("a", value: Todo(title: "write", done: false))
        try await store.write { tx in
            let a = try tx.get("todos", "a", as: Todo.self)
            try tx.put("todos", "b", value: Todo(title: (a?.title ?? "") + " more", done: false))
            try tx.put("todos", "c", value: Todo(title: "c", done: true))
        }
        try await todos.update("a", as: Todo.self) { $0.done = true }
        let b = try await todos.get("b", as: Todo.self)
        let a = try await todos.get("a", as: Todo.self)
        guard b?.title == "write more", a?.done == true else { throw CheckFailed() }
        guard try await seen.value == ["a", "b", "c"] else { throw CheckFailed() }
        let memory = try Store.inMemory()
        try await memory.sync(with: store)
        let c = try await memory.repository("todos").get("c", as: Todo.self)
        guard c?.done == true else { throw CheckFailed() }
        print("api ok")
    }
}
struct CheckFailed: Error {}
