import Benchmark
import Foundation
import Trellis

// The async API against the synchronous one, in the same run (docs/benchmarks.md §Async API),
// and the delay from a commit written by another process to its arrival on a local change stream.

struct Todo: Codable, Sendable { var title: String; var done: Bool }

/// A store in a temporary directory, made once per benchmark process.
final class Rig: Sendable {
    let store: Store
    let path: String

    init(durability: Durability) throws {
        path = FileManager.default.temporaryDirectory.path + "/trellis-bench-async-\(UUID().uuidString)"
        store = try Store.open(path, configuration: Store.Configuration(durability: durability))
        let todos = try store.repository("todos")
        for k in 0..<1000 { try todos.put("k\(k)", value: Todo(title: "task \(k)", done: false)) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The `trellis` binary of the parent package's release build (or TRELLIS_BIN).
let trellisBinary: String = ProcessInfo.processInfo.environment["TRELLIS_BIN"]
    ?? ((#filePath as NSString).deletingLastPathComponent as NSString)
        .appendingPathComponent("../../../.build/release/trellis")

let arrivalDelay = BenchmarkMetric.custom("other process → local stream (ms)", polarity: .prefersSmaller, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock], maxDuration: .seconds(10), maxIterations: 5000)
    for durability in [Durability.full, .none] {
        nonisolated(unsafe) var rig: Rig?
        func todos() throws -> Repository {
            if rig == nil { rig = try Rig(durability: durability) }
            return try rig!.store.repository("todos")
        }
        Benchmark("put, sync, durability \(durability)") { benchmark in
            let repo = try todos()
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations { try repo.put("k\(i % 1000)", value: Todo(title: "t\(i)", done: true)) }
        }
        Benchmark("put, async, durability \(durability)") { benchmark async throws in
            let repo = try todos()
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations { try await repo.put("k\(i % 1000)", value: Todo(title: "t\(i)", done: true)) }
        }
    }
    nonisolated(unsafe) var readRig: Rig?
    func readable() throws -> Repository {
        if readRig == nil { readRig = try Rig(durability: .none) }
        return try readRig!.store.repository("todos")
    }
    Benchmark("get, sync") { benchmark in
        let repo = try readable()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { blackHole(try repo.get("k\(i % 1000)", as: Todo.self)) }
    }
    Benchmark("get, async") { benchmark async throws in
        let repo = try readable()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { blackHole(try await repo.get("k\(i % 1000)", as: Todo.self)) }
    }

    // The same calls on a store in memory (`Store.inMemory()`), against the store directory above.
    nonisolated(unsafe) var memoryTodos: Repository?
    func inMemory() throws -> Repository {
        if let memoryTodos { return memoryTodos }
        let todos = try Store.inMemory().repository("todos")
        for k in 0..<1000 { try todos.put("k\(k)", value: Todo(title: "task \(k)", done: false)) }
        memoryTodos = todos
        return todos
    }
    Benchmark("put, sync, in memory") { benchmark in
        let repo = try inMemory()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { try repo.put("k\(i % 1000)", value: Todo(title: "t\(i)", done: true)) }
    }
    Benchmark("get, sync, in memory") { benchmark in
        let repo = try inMemory()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { blackHole(try repo.get("k\(i % 1000)", as: Todo.self)) }
    }

    // Each sample: `trellis put` in another process; the delay runs from the commit's own
    // timestamp (taken when that process built it) to its arrival on this process's stream.
    nonisolated(unsafe) var streamRig: (Rig, Repository.Changes.Iterator)?
    Benchmark("another process's commit reaches a local change stream",
              configuration: .init(metrics: [.wallClock, arrivalDelay], maxDuration: .seconds(30), maxIterations: 200)) { benchmark async throws in
        if streamRig == nil {
            let rig = try Rig(durability: .full)
            streamRig = (rig, try rig.store.repository("todos").changes().makeAsyncIterator())
        }
        guard var (rig, iterator) = streamRig else { return }
        let put = Process()
        put.executableURL = URL(fileURLWithPath: trellisBinary)
        put.arguments = ["put", "todos", "other", "--json", #"{"title": "from another process", "done": false}"#, "--store", rig.path]
        put.standardOutput = FileHandle.nullDevice
        try put.run()
        guard let change = try await iterator.next() else { return }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        put.waitUntilExit()
        streamRig = (rig, iterator)
        benchmark.measurement(arrivalDelay, Int(now - change.commit.timestamp.wallMillis))
    }
}
