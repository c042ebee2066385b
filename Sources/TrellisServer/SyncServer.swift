import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals
import TrellisClient
import Trellis
import TrellisCore
import TrellisStorage
import TrellisSync

/// How `trellis serve` runs (docs/server.md).
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port; `onListening` reports the one chosen.
    public var port = 0
    /// Store nothing: verify commits clients push and forward them to the other clients
    /// subscribed to their repository (docs/server.md §Relay mode).
    public var relay = false
    /// Every peer may read and write every repository (development only).
    public var open = false
    /// Largest message a peer may send.
    public var maxMessageBytes = SyncMessage.maxMessageBytes
    /// Bytes of inbound messages held at once across all connections.
    public var inboundBudget = 256 << 20
    /// Bytes of unfinished inbound messages one client (one key; one address before it
    /// authenticates) may hold across all its connections.
    public var maxClientInboundBytes = 64 << 20
    /// Messages a connection may send a second on average, and in one burst.
    public var maxMessagesPerSecond: Double = 200
    public var messageBurst: Double = 400
    /// Open connections from one IP address.
    public var maxConnectionsPerAddress = 256
    /// Log lines one connection may cause a second on average, and in one burst; the rest are
    /// counted and reported in one line.
    public var logLinesPerSecond: Double = 1
    public var logLineBurst: Double = 20
    /// Bytes of pushes queued for one connection before it is dropped as too slow.
    public var maxPendingPushBytes = 16 << 20
    /// Seconds a new connection has to authenticate, and a sync session may sit between messages.
    public var authTimeout: Double = 10
    public var sessionTimeout: Double = 60
    /// Seconds an HTTP connection may stay silent before it upgrades (garbage, slow requests).
    public var httpIdleTimeout: Double = 10
    /// Seconds between pings on an idle connection; a peer that misses one is dropped.
    public var pingInterval: Double = 30
    /// Seconds between checks for commits other processes wrote to the store.
    public var pollInterval: Double = 1
    /// The token every `/ui` (inspector) URL must carry as `?token=`; nil: a random one
    /// (`SyncServer.inspectorToken`), or none at all when `open`.
    public var inspectorToken: String?

    public init() {}
}

/// The WebSocket sync server: `/sync` speaks docs/sync.md plus docs/server.md §Wire, `/health`
/// answers liveness checks.
public final class SyncServer: Sendable {
    public let configuration: ServerConfiguration
    let engine: any CommitStore
    let policy: AccessPolicy
    let broker: Broker
    let budget: MemoryBudget
    let logger: Logger
    let pool: NIOThreadPool
    private let running = NIOLockedValueBox<ServiceGroup?>(nil)
    let deadlines = Deadlines()
    private let connectionsByAddress = NIOLockedValueBox<[String: Int]>([:])
    /// The inspector at `/ui`; nil for a relay, which stores nothing to inspect.
    let inspector: Inspector?
    /// The token the inspector's URLs need (nil when open or a relay).
    public var inspectorToken: String? { inspector?.token }

    /// Counts a new connection from `address`; false when it already has the most allowed.
    func admit(_ address: String) -> Bool {
        connectionsByAddress.withLockedValue { counts in
            let n = counts[address] ?? 0
            guard n < configuration.maxConnectionsPerAddress else { return false }
            counts[address] = n + 1
            return true
        }
    }

    func leave(_ address: String) {
        connectionsByAddress.withLockedValue { counts in
            let n = (counts[address] ?? 1) - 1
            counts[address] = n > 0 ? n : nil
        }
    }

    public init(store: Store, configuration: ServerConfiguration, logger: Logger) throws(TrellisError) {
        self.configuration = configuration
        engine = store.engine
        policy = AccessPolicy(store: store.engine, server: try store.identity, open: configuration.open)
        self.logger = logger
        broker = Broker(engine: engine, policy: policy, logger: logger)
        budget = MemoryBudget(limit: configuration.inboundBudget, perOwner: configuration.maxClientInboundBytes)
        pool = NIOThreadPool.singleton
        if configuration.relay {
            inspector = nil
        } else {
            let token = configuration.open ? nil : configuration.inspectorToken ?? Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
            inspector = Inspector(store: store, token: token)
        }
    }

    /// Serves until SIGINT or SIGTERM (or `shutdownSignals`), then closes connections and returns.
    public func run(shutdownSignals: [UnixSignal] = [.sigint, .sigterm],
                    onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: application(onListening: onListening))] + (configuration.relay ? [] : [.init(service: Poller(server: self))]),
            gracefulShutdownSignals: shutdownSignals, logger: logger))
        running.withLockedValue { $0 = group }
        try await group.run()
        running.withLockedValue { $0 = nil }
        logger.info("stopped")
    }

    /// Stops a running server as SIGTERM would: no new connections, open ones closed.
    public func shutdown() async {
        await running.withLockedValue { $0 }?.triggerGracefulShutdown()
    }

    func application(onListening: @escaping @Sendable (String, Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.get("/health") { _, _ -> Response in
            let body = #"{"status":"ok","mode":"\#(self.configuration.relay ? "relay" : "store")"}"#
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body + "\n")))
        }
        let pages: [(String, Inspector.Page)] = [("/ui", .index), ("/ui/repo", .repository), ("/ui/record", .record),
                                                 ("/ui/commit", .commit), ("/ui/conflicts", .conflicts), ("/ui/stats", .stats)]
        for (path, page) in pages {
            router.get(RouterPath(path)) { request, _ -> Response in
                guard let inspector = self.inspector else {
                    return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "a relay has no inspector\n")))
                }
                var query: [String: String] = [:]
                for (k, v) in request.uri.queryParameters where query[String(k)] == nil { query[String(k)] = String(v) }
                let parameters = query
                let rendered = try await self.blocking { () -> Result<String, Inspector.Failure> in
                    do throws(Inspector.Failure) { return .success(try inspector.render(page, parameters)) } catch { return .failure(error) }
                }
                switch rendered {
                case .success(let html):
                    return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
                case .failure(let f):
                    return Response(status: HTTPResponse.Status(code: f.status), headers: [.contentType: "text/plain; charset=utf-8"],
                                    body: .init(byteBuffer: ByteBuffer(string: f.message + "\n")))
                }
            }
        }
        let ws = WebSocketServerConfiguration(
            maxFrameSize: 1 << 20,
            autoPing: .enabled(timePeriod: .milliseconds(Int64(configuration.pingInterval * 1000))),
            closeTimeout: .seconds(1))
        let http1 = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: .milliseconds(Int64(configuration.httpIdleTimeout * 1000))), ws: ws)
        let deadlines = self.deadlines
        let timeout = TimeAmount.milliseconds(Int64(configuration.httpIdleTimeout * 1000))
        let server = HTTPServerBuilder { responder in
            DeadlineChannel(inner: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: http1) { request, channel, _ in
                guard request.path == "/sync" else { return .dontUpgrade }
                deadlines.disarm(channel)
                return .upgrade([:]) { inbound, outbound, _ in
                    await ServerConnection(server: self, channel: channel).serve(inbound, outbound)
                }
            }, timeout: timeout, deadlines: deadlines)
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

    /// Pushes what arrived in every watched repository, off the event loops.
    func pushNew() async {
        let broker = self.broker
        _ = try? await blocking { broker.pushNew(in: broker.subscribedRepositories) }
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
                await server.pushNew()
            }
        }
    }
}

/// Connections get `timeout` to upgrade to WebSocket; HTTP requests (GET /health) to finish.
/// Hummingbird's idle timeout starts only once a request has been parsed, so without this a
/// client sending garbage or nothing would hold its connection forever.
struct DeadlineChannel: ServerChildChannel {
    let inner: HTTP1WebSocketUpgradeChannel
    let timeout: TimeAmount
    let deadlines: Deadlines

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.Value> {
        deadlines.arm(channel, timeout)
        return inner.setup(channel: channel, logger: logger)
    }

    func handle(value: HTTP1WebSocketUpgradeChannel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

final class Deadlines: Sendable {
    private let scheduled = NIOLockedValueBox<[ObjectIdentifier: Scheduled<Void>]>([:])

    func arm(_ channel: any Channel, _ timeout: TimeAmount) {
        let id = ObjectIdentifier(channel)
        let task = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        scheduled.withLockedValue { $0[id] = task }
        channel.closeFuture.whenComplete { _ in self.disarm(channel) }
    }

    func disarm(_ channel: any Channel) {
        scheduled.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }?.cancel()
    }
}
