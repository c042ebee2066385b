import Benchmark
import Foundation
import Trellis

/// A small JSON-like record, about the size DESIGN.md measures with (≈350 bytes as JSON).
func record(_ n: Int) -> Document {
    Document([
        ("title", .string("Task number \(n): write the quarterly report")),
        ("done", .bool(n % 2 == 0)),
        ("priority", .int(Int64(n % 5))),
        ("estimate", .double(Double(n % 17) * 0.5)),
        ("owner", .string("user-\(n % 97)@example.com")),
        ("tags", .set([.string("work"), .string("q\(n % 4 + 1)")])),
        ("notes", .text("First line of notes for \(n).\nSecond line with more words.\n")),
        ("due", .date(1_700_000_000_000 + Int64(n) * 60_000)),
        ("views", .counter(Int64(n % 1000))),
        ("meta", .map(Document([("source", .string("import")), ("rev", .int(Int64(n)))]))),
    ])
}

func temporaryStore() throws -> (Store, String) {
    let path = FileManager.default.temporaryDirectory.path + "/trellis-bench-\(UUID().uuidString)"
    return (try Store.open(path), path)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )

    Benchmark("put, fsync per commit") { benchmark in
        let (store, path) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let repo = try store.repository("bench")
        var n = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            n += 1
            blackHole(try repo.put("k\(n % 1000)", record(n)))
        }
        benchmark.stopMeasurement()
    }

    // One iteration is one batch of 100 commits sharing one frame and one fsync;
    // throughput × 100 gives commits per second.
    Benchmark("put, batches of 100 (one fsync each)") { benchmark in
        let (store, path) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var n = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var batch: [WriteRequest] = []
            for _ in 0..<100 {
                n += 1
                batch.append(WriteRequest(repository: "bench", key: "k\(n % 1000)", change: .put(record(n))))
            }
            blackHole(try store.write(batch))
        }
        benchmark.stopMeasurement()
    }

    // The store is built once in setup; each sample times 1,000 gets of random keys.
    let getStorePath = FileManager.default.temporaryDirectory.path + "/trellis-bench-get"
    Benchmark(
        "get, 10,000 records",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo),
        closure: { (benchmark: Benchmark, repo: Repository) in
            var n = 0
            for _ in benchmark.scaledIterations {
                n = (n &+ 7919) % 10_000
                blackHole(try? repo.get("k\(n)"))
            }
        },
        setup: { () async throws -> Repository in
            try? FileManager.default.removeItem(atPath: getStorePath)
            let store = try Store.open(getStorePath)
            for start in stride(from: 0, to: 10_000, by: 1000) {
                try store.write((start..<start + 1000).map {
                    WriteRequest(repository: "bench", key: "k\($0)", change: .put(record($0)))
                })
            }
            return try store.repository("bench")
        },
        teardown: { try? FileManager.default.removeItem(atPath: getStorePath) }
    )
}
