import Benchmark
import Foundation
import Logging
import Trellis
import TrellisClient
import TrellisServer

/// A server on a free loopback port with a writer and a watcher store, all in this process.
final class PushRig: @unchecked Sendable {
    let server: SyncServer
    let serverTask: Task<Void, any Error>
    let writer: Store
    let url: String
    let paths: [String]
    private let lock = NSLock()
    private var arrived: [CommitID: UInt64] = [:]
    private var watchTask: Task<Void, Never>?

    init() async throws {
        let base = FileManager.default.temporaryDirectory.path + "/trellis-bench-server-\(UUID().uuidString)"
        paths = [base + "-server", base + "-writer", base + "-watcher"]
        var config = ServerConfiguration()
        config.open = true
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        server = try SyncServer(store: try Store.open(paths[0]), configuration: config, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = self.server
        serverTask = Task { try await server.run(shutdownSignals: []) { _, port in continuation.yield(port) } }
        var it = ports.makeAsyncIterator()
        url = "ws://127.0.0.1:\(await it.next() ?? 0)"
        writer = try Store.open(paths[1])
        let watcher = try Store.open(paths[2])
        watchTask = Task { [url] in
            do {
                for try await change in watcher.changes(from: url, repository: "feed") {
                    let now = DispatchTime.now().uptimeNanoseconds
                    self.lock.withLock { self.arrived[change.commit.id] = now }
                }
            } catch {}
        }
        // The first commit also waits until the watcher has subscribed and caught up.
        _ = try await push(timeout: 10)
    }

    /// The write itself, synchronous (as before the async API), so the figure stays comparable.
    private func write(at start: UInt64) throws -> CommitID {
        try writer.repository("feed").put("k", value: ["at": start])
    }

    /// Writes one commit, syncs it to the server, and waits for the watcher to store it;
    /// returns the nanoseconds from before the write to the watcher's receipt.
    func push(timeout: Double = 5) async throws -> UInt64 {
        let start = DispatchTime.now().uptimeNanoseconds
        let id = try write(at: start)
        try await writer.sync(url: url, repositories: ["feed"])
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let t = lock.withLock({ arrived[id] }) { return t - start }
            try await Task.sleep(nanoseconds: 200_000)
        }
        throw TrellisError(.network, "the watcher did not receive \(id.short) within \(timeout) s")
    }

    deinit { for p in paths { try? FileManager.default.removeItem(atPath: p) } }
}

let pushLatency = BenchmarkMetric.custom("write → watcher (µs)", polarity: .prefersSmaller, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    nonisolated(unsafe) var shared: PushRig? = nil

    // Each sample: one client writes a commit and syncs it (a new connection, as `trellis sync`
    // makes); the timed span ends when a watching client has stored it.
    Benchmark("push latency, write + sync + watcher receipt", configuration: .init(
        metrics: [.wallClock, pushLatency], maxDuration: .seconds(60), maxIterations: 500)) { benchmark in
        if shared == nil { shared = try await PushRig() }
        guard let rig = shared else { return }
        benchmark.startMeasurement()
        let nanos = try await rig.push()
        benchmark.stopMeasurement()
        benchmark.measurement(pushLatency, Int(nanos / 1000))
    }
}
