import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals
import Trellis
import TrellisCore
import TrellisStorage
import TrellisSync

/// How `trellis serve` runs (docs/server.md).
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port; `onListening` reports the one chosen.
    public var port = 0
    /// Store nothing; forward pushed commits between connected clients.
    public var relay = false
    /// Every peer may read and write every repository (development only).
    public var open = false
    /// Largest message a peer may send.
    public var maxMessageBytes = SyncMessage.maxMessageBytes
    /// Bytes of inbound messages held at once across all connections.
    public var inboundBudget = 256 << 20
    /// Bytes of pushes queued for one connection before it is dropped as too slow.
    public var maxPendingPushBytes = 16 << 20
    /// Seconds a new connection has to authenticate, and a sync session may sit between messages.
    public var authTimeout: Double = 10
    public var sessionTimeout: Double = 60
    /// Seconds between pings on an idle connection; a peer that misses one is dropped.
    public var pingInterval: Double = 30
    /// Seconds between checks for commits other processes wrote to the store.
    public var pollInterval: Double = 1

    public init() {}
}

/// The WebSocket sync server: `/sync` speaks docs/sync.md plus docs/server.md §Wire, `/health`
/// answers liveness checks.
public final class SyncServer: Sendable {
    public let configuration: ServerConfiguration
    let engine: StorageEngine
    let policy: AccessPolicy
    let broker: Broker
    let budget: MemoryBudget
    let logger: Logger
    let pool: NIOThreadPool

    public init(store: Store, configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        engine = store.engine
        policy = AccessPolicy(store: store.path, server: store.identity, open: configuration.open)
        self.logger = logger
        broker = Broker(engine: engine, policy: policy, logger: logger)
        budget = MemoryBudget(limit: configuration.inboundBudget)
        pool = NIOThreadPool.singleton
    }

    /// Serves until SIGINT or SIGTERM (or `shutdownSignals`), then closes connections and returns.
    public func run(shutdownSignals: [UnixSignal] = [.sigint, .sigterm],
                    onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: application(onListening: onListening)), .init(service: Poller(server: self))],
            gracefulShutdownSignals: shutdownSignals, logger: logger))
        try await group.run()
    }

    func application(onListening: @escaping @Sendable (String, Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.get("/health") { _, _ -> Response in
            let body = #"{"status":"ok","mode":"\#(self.configuration.relay ? "relay" : "store")"}"#
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body + "\n")))
        }
        let ws = WebSocketServerConfiguration(
            maxFrameSize: 1 << 20,
            autoPing: .enabled(timePeriod: .milliseconds(Int64(configuration.pingInterval * 1000))),
            closeTimeout: .seconds(5))
        let server = HTTPServerBuilder.http1WebSocketUpgrade(
            configuration: .init(http1: .init(idleTimeout: .seconds(30)), ws: ws)
        ) { request, channel, _ in
            guard request.path == "/sync" else { return .dontUpgrade }
            return .upgrade([:]) { inbound, outbound, _ in
                await ServerConnection(server: self, channel: channel).serve(inbound, outbound)
            }
        }
        let host = configuration.host
        let logger = logger
        return Application(
            router: router, server: server,
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "trellis"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening", metadata: ["host": "\(host)", "port": "\(port)"])
                onListening(host, port)
            },
            logger: logger)
    }

    /// Runs blocking store work on the thread pool, off the event loops.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}

/// Pushes commits that other processes wrote to the store (`trellis put` beside a running server).
struct Poller: Service {
    let server: SyncServer

    func run() async throws {
        let interval = UInt64(server.configuration.pollInterval * 1e9)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(nanoseconds: interval)
                let broker = server.broker
                _ = try? await server.blocking { broker.pushNew(in: broker.subscribedRepositories) }
            }
        }
    }
}
