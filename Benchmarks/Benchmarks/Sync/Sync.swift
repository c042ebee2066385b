import Benchmark
import Foundation
import Trellis

/// A record of about 350 bytes as JSON, touching most value types.
func record(_ n: Int, revision: Int) -> Document {
    Document([
        ("title", .string("Task number \(n): write the quarterly report")),
        ("done", .bool((n + revision) % 2 == 0)),
        ("priority", .int(Int64(n % 5))),
        ("owner", .string("user-\(n % 97)@example.com")),
        ("tags", .set([.string("work"), .string("q\(n % 4 + 1)")])),
        ("notes", .text("First line of notes for \(n).\nRevision \(revision).\n")),
        ("due", .date(1_700_000_000_000 + Int64(n) * 60_000)),
        ("views", .counter(Int64(revision))),
    ])
}

/// Two stores that share `records × revisions` commits and have synced once (so each holds a
/// token for the other).
final class SyncPair: @unchecked Sendable {
    let a: Store, b: Store
    let paths: [String]
    let records: Int
    var revision = 1000

    init(records: Int, revisions: Int) throws {
        let base = FileManager.default.temporaryDirectory.path + "/trellis-bench-sync-\(UUID().uuidString)"
        paths = [base + "-a", base + "-b"]
        a = try Store.open(paths[0], configuration: Store.Configuration(durability: .none))
        b = try Store.open(paths[1])
        self.records = records
        for r in 0..<revisions {
            for start in stride(from: 0, to: records, by: 1000) {
                try a.write((start..<min(records, start + 1000)).map {
                    WriteRequest(repository: "bench", key: "k\($0)", change: .put(record($0, revision: r)))
                })
            }
        }
        a.flush()
        try a.sync(with: b)
        try a.sync(with: b)
    }

    /// `count` new commits on one side, updating records spread over the key space; returns
    /// their encoded size with signatures (the least any protocol must carry).
    func addNew(_ count: Int, on store: Store) throws -> Int {
        revision += 1
        let infos = try store.write((0..<count).map { i in
            let n = (revision * 7919 + i * 104_729) % records
            return WriteRequest(repository: "bench", key: "k\(n)", change: .put(record(n, revision: revision)))
        })
        var bytes = 0
        for info in infos {
            let c = try store.commit(info.id)
            bytes += c.encoded.count + c.signature.count
        }
        return bytes
    }

    deinit { for p in paths { try? FileManager.default.removeItem(atPath: p) } }
}

let wireBytes = BenchmarkMetric.custom("wire bytes", polarity: .prefersSmaller, useScalingFactor: false)
let idealBytes = BenchmarkMetric.custom("new commits' bytes", polarity: .prefersSmaller, useScalingFactor: false)
let overheadPerMille = BenchmarkMetric.custom("wire / new ×1000", polarity: .prefersSmaller, useScalingFactor: false)
let roundTrips = BenchmarkMetric.custom("round trips", polarity: .prefersSmaller, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    let records = Int(ProcessInfo.processInfo.environment["TRELLIS_SYNC_RECORDS"] ?? "") ?? 20_000
    let revisions = 5
    nonisolated(unsafe) var shared: SyncPair? = nil
    func pair() throws -> SyncPair {
        if let shared { return shared }
        let made = try SyncPair(records: records, revisions: revisions)
        shared = made
        return made
    }

    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, wireBytes, idealBytes, overheadPerMille, roundTrips],
        maxDuration: .seconds(60), maxIterations: 25)

    // Each sample: both sides add 100 commits offline, then one sync (timed).
    Benchmark("sync, \(records * revisions) shared commits, 100 new on each side", configuration: configuration) { benchmark in
        let p = try pair()
        let ideal = try p.addNew(100, on: p.a) + p.addNew(100, on: p.b)
        benchmark.startMeasurement()
        let report = try p.a.sync(with: p.b)
        benchmark.stopMeasurement()
        let wire = report.bytesSent + report.bytesReceived
        benchmark.measurement(wireBytes, wire)
        benchmark.measurement(idealBytes, ideal)
        benchmark.measurement(overheadPerMille, wire * 1000 / max(1, ideal))
        benchmark.measurement(roundTrips, report.rounds)
    }

    Benchmark("sync, \(records * revisions) shared commits, nothing new", configuration: configuration) { benchmark in
        let p = try pair()
        benchmark.startMeasurement()
        let report = try p.a.sync(with: p.b)
        benchmark.stopMeasurement()
        benchmark.measurement(wireBytes, report.bytesSent + report.bytesReceived)
        benchmark.measurement(roundTrips, report.rounds)
    }
}
