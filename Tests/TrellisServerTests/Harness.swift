import Foundation
import Logging
import Testing
import Trellis
import TrellisTestSupport
@testable import TrellisClient
@testable import TrellisServer

/// A server on a free loopback port, in this process, over its own store.
final class RunningServer: @unchecked Sendable {
    let store: Store
    let server: SyncServer
    let port: Int
    private let task: Task<Void, any Error>

    var url: String { "ws://127.0.0.1:\(port)" }

    private init(store: Store, server: SyncServer, port: Int, task: Task<Void, any Error>) {
        (self.store, self.server, self.port, self.task) = (store, server, port, task)
    }

    /// A server over a store in `path`, or over a store in memory when `engine` is `.memory`.
    static func start(_ path: String, engine: EngineKind = .file, logger given: Logger? = nil,
                      configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> RunningServer {
        let store = engine == .file ? try Store.open(path) : try Store.inMemory()
        var config = ServerConfiguration()
        configure(&config)
        var logger = given ?? Logger(label: "trellis.test")
        if given == nil { logger.logLevel = ProcessInfo.processInfo.environment["TRELLIS_TEST_LOG"] != nil ? .debug : .critical }
        let server = try SyncServer(store: store, configuration: config, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await server.run(shutdownSignals: []) { _, port in continuation.yield(port) } }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else { throw RawSocketError("the server did not start") }
        return RunningServer(store: store, server: server, port: port, task: task)
    }

    /// Stops the server gracefully and waits for it.
    func stop() async throws {
        await server.shutdown()
        try await task.value
    }
}

/// A client store with its own identity, in `dir` or in memory.
func clientStore(_ dir: TemporaryDirectory, _ name: String, _ engine: EngineKind = .file) throws -> Store {
    try engine.store(dir, name)
}

extension Store {
    func allCommitIDs(_ repository: String) throws -> Set<CommitID> {
        guard try repositoryNames().contains(repository) else { return [] }
        return Set(try self.repository(repository).history().map(\.id))
    }
}

/// Waits until `condition` holds, polling, for at most `seconds`.
func eventually(_ seconds: Double = 30, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    return try condition()
}

/// The error message a throwing async call fails with, or nil when it succeeds.
func failure(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch let error as TrellisError {
        return error.message
    } catch {
        return "\(error)"
    }
}

/// A log handler that counts the lines it is given (for tests of log volume).
struct CountingLogHandler: LogHandler {
    final class Counter: @unchecked Sendable {  // safe: `lines` is behind `lock`
        private let lock = NSLock()
        private var count = 0
        func add() { lock.withLock { count += 1 } }
        var lines: Int { lock.withLock { count } }
    }

    let counter: Counter
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        counter.add()
    }
}

/// A store directory passes fsck; a store in memory verified every commit it holds on receipt.
func isIntact(_ store: Store) throws -> Bool {
    if store.isInMemory { return true }
    return try Store.fsck(store.path).isClean
}
