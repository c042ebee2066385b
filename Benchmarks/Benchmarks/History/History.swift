import Benchmark
import Foundation
import Trellis

// `trellis log REPO` through the library: open the store, list the repository's commits
// newest first, and compute each printed commit's field changes. The same history (10,000
// records × 5 revisions) is read in three states, which should cost about the same: right
// after an import (frames of 1,000 commits in the log), after a bundle of it was applied to an
// empty store (one large frame), and after a repack (delta-compressed packs).

let records = 10_000
let revisions = 5
let root = FileManager.default.temporaryDirectory.path + "/trellis-bench-history"

func task(_ key: Int, _ revision: Int) -> Document {
    Document([("title", .string("task \(key)")), ("rev", .int(Int64(revision))), ("done", .bool(revision % 2 == 0))])
}

/// Builds the three stores once; later runs of the benchmark binary reuse them.
func prepareStores() throws {
    let marker = root + "/ready"
    if FileManager.default.fileExists(atPath: marker) { return }
    try? FileManager.default.removeItem(atPath: root)
    let imported = try Store.open(root + "/imported")
    let repacked = try Store.open(root + "/repacked")
    for revision in 0..<revisions {
        for start in stride(from: 0, to: records, by: 1000) {
            let batch = (start..<start + 1000).map {
                WriteRequest(repository: "tasks", key: "k\($0)", change: .put(task($0, revision)))
            }
            _ = try imported.write(batch)
            _ = try repacked.write(batch)
        }
    }
    _ = try imported.createBundle(at: root + "/all.bundle")
    _ = try Store.open(root + "/bundled").applyBundle(at: root + "/all.bundle")
    _ = try repacked.repack()
    FileManager.default.createFile(atPath: marker, contents: Data())
}

/// What `trellis log tasks [-n limit]` computes.
func log(_ state: String, limit: Int?) throws {
    let repository = try Store.open(root + "/" + state, create: false).repository("tasks")
    for c in try repository.history(limit: limit) { blackHole(try repository.changes(in: c.id)) }
}

/// One record with 1,000 revisions: ten fields and a 40-line text; each revision changes a
/// field or two and a text line, as a long-lived task would. Stored repacked.
let blamed = root + "/blame"
func prepareBlame() throws -> Repository {
    let marker = blamed + "/ready"
    if !FileManager.default.fileExists(atPath: marker) {
        try? FileManager.default.removeItem(atPath: blamed)
        let store = try Store.open(blamed)
        let repo = try store.repository("tasks")
        var lines = (0..<40).map { "line \($0) of the description\n" }
        for revision in 0..<1000 {
            lines[(revision * 7) % 40] = "line \((revision * 7) % 40) edited in revision \(revision)\n"
            var fields: [(String, Value)] = (0..<10).map { ("f\($0)", .int(Int64($0))) }
            fields[revision % 10].1 = .int(Int64(revision))
            fields.append(("status", .string(["open", "doing", "done"][revision % 3])))
            fields.append(("notes", .text(lines.joined())))
            try repo.put("t", Document(fields))
        }
        try store.repack()
        FileManager.default.createFile(atPath: marker, contents: Data())
    }
    return try Store.open(blamed, create: false).repository("tasks")
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(20),
        maxIterations: 7
    )
    // Issue 15's budget: under 50 ms for a record with 1,000 revisions.
    Benchmark("blame, 1,000 revisions, repacked", configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 20)) { benchmark in
        let repo = try prepareBlame()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try repo.blame("t")) }
        benchmark.stopMeasurement()
    }
    for state in ["imported", "bundled", "repacked"] {
        for limit in [nil, 50] {
            let name = "log \(limit.map { "-n \($0)" } ?? "all \(records * revisions)"), \(state)"
            Benchmark(name) { benchmark in
                try prepareStores()
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations { try log(state, limit: limit) }
                benchmark.stopMeasurement()
            }
        }
    }
}
