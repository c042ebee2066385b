import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import TrellisClient
import TrellisCore
import TrellisCrypto
import TrellisStorage
import TrellisSync

/// One client's WebSocket connection: challenge, authentication, then sync sessions and
/// subscriptions until either side closes (docs/server.md §Wire).
///
/// `@unchecked Sendable`: its read loop, writer, watchdog and the broker's callbacks run on
/// different tasks; what they share and change (`deadline`, `logger`, the log-line limiter)
/// is behind `lock`, and the rest is immutable or used by the read loop alone.
final class ServerConnection: @unchecked Sendable {
    private let server: SyncServer
    private let channel: any Channel
    private let outbox: Outbox
    /// Behind `lock`: the read loop adds the client's key once it is authenticated.
    private var logger: Logger
    private let lock = NSLock()
    /// When the peer must next have sent something, or nil while it may stay quiet (subscribed).
    private var deadline: Date?
    /// Log lines this connection may still cause (behind `lock`), and those it was refused.
    private var logLines: RateLimit
    private var suppressedLines = 0
    private let address: String

    static let maxUnauthenticatedBytes = 1024

    init(server: SyncServer, channel: any Channel) {
        self.server = server
        self.channel = channel
        outbox = Outbox(maxPending: server.configuration.maxPendingPushBytes)
        logger = server.logger
        logger[metadataKey: "peer"] = "\(channel.remoteAddress?.description ?? "?")"
        address = channel.remoteAddress?.ipAddress ?? "?"
        logLines = RateLimit(rate: server.configuration.logLinesPerSecond, burst: server.configuration.logLineBurst)
    }

    /// Logs a line unless this connection has caused too many lately: a client repeating a
    /// refused message must not fill the server's disk. Skipped lines are counted, and the
    /// count is logged with the next line let through or when the connection ends.
    private func log(_ level: Logger.Level, _ message: Logger.Message, _ metadata: Logger.Metadata = [:], final: Bool = false) {
        let (allowed, skipped, logger): (Bool, Int, Logger) = lock.withLock {
            guard final || logLines.allow() else {
                suppressedLines += 1
                return (false, 0, self.logger)
            }
            defer { suppressedLines = 0 }
            return (true, suppressedLines, self.logger)
        }
        guard allowed else { return }
        if skipped > 0 { logger.notice("suppressed log lines", metadata: ["count": "\(skipped)"]) }
        logger.log(level: level, message, metadata: metadata)
    }

    func serve(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter) async {
        guard server.admit(address) else {
            log(.info, "refused: too many connections from one address")
            let reason = "too many connections from \(address): at most \(server.configuration.maxConnectionsPerAddress)"
            try? await outbound.writeBinaryMessage(ByteBuffer(bytes: SyncMessage.error(reason).encoded()))
            try? await outbound.close(.policyViolation, reason: "too many connections")
            return
        }
        defer { server.leave(address) }
        log(.debug, "connected")
        let watchdog = Task { await self.watchdog() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await self.outbox.drain(to: outbound) } catch { self.abort("write failed: \(error)") }
            }
            await withGracefulShutdownHandler {
                await self.readLoop(inbound)
            } onGracefulShutdown: {
                self.outbox.close(.goingAway, "the server is shutting down")
                self.closeSoon()
            }
            // The writer ends once what is queued (an ERROR and a close, say) is written.
            self.outbox.finish()
            self.closeSoon()
        }
        watchdog.cancel()
        server.broker.unsubscribe(ObjectIdentifier(self))
        log(.debug, "disconnected", final: true)
    }

    /// Closes the socket at once: for peers that stopped reading or went silent.
    private func abort(_ reason: String) {
        log(.info, "dropping connection", ["reason": "\(reason)"])
        channel.close(promise: nil)
    }

    /// Cuts off a peer that has not finished closing within two seconds.
    private func closeSoon() {
        channel.eventLoop.scheduleTask(in: .seconds(2)) { self.channel.close(promise: nil) }
    }

    private func expect(within seconds: Double?) {
        lock.withLock { deadline = seconds.map { Date().addingTimeInterval($0) } }
    }

    private func watchdog() async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 250_000_000)
            if let d = lock.withLock({ deadline }), Date() > d {
                abort("the peer sent nothing in time")
                return
            }
        }
    }

    private func fail(_ error: TrellisError, code: WebSocketErrorCode = .protocolError) {
        log(.info, "refused", ["error": "\(error.message)"])
        outbox.send(SyncMessage.error(error.message).encoded())
        outbox.close(code, error.message)
    }

    private func readLoop(_ inbound: WebSocketInboundStream) async {
        // Until it authenticates, a peer may send only a short message.
        var reader = MessageReader(inbound, maxMessageBytes: Self.maxUnauthenticatedBytes, budget: server.budget, owner: "address " + address)
        var messages = RateLimit(rate: server.configuration.maxMessagesPerSecond, burst: server.configuration.messageBurst)
        defer { reader.release() }
        let nonce: [UInt8]
        do { nonce = try SecureRandom.bytes(ServerMessage.nonceSize) } catch {
            return fail(TrellisError(.io, "no randomness for a challenge: \(error)"), code: .unexpectedServerError)
        }
        let me = server.policy.server
        outbox.send(ServerMessage.challenge(server: me.bytes, nonce: nonce, relay: server.configuration.relay).encoded())
        expect(within: server.configuration.authTimeout)
        var peer: PublicKey?
        var session: SessionBox?
        // A subscribed peer may stay quiet (pings watch it); any other must keep talking.
        var subscribed = false
        do throws(TrellisError) {
            while let bytes = try await reader.next() {
                defer { reader.release() }
                guard messages.allow() else {
                    throw TrellisError(.permissionDenied,
                        "too many messages: at most \(Int(server.configuration.maxMessagesPerSecond)) a second (bursts of \(Int(server.configuration.messageBurst)))")
                }
                guard let type = ServerMessage.type(of: bytes) else {
                    throw TrellisError(.corruptData, "not a Trellis protocol message")
                }
                guard let key = peer else {
                    guard type == ServerMessage.authType, case .auth(let client, let signature) = try ServerMessage.decode(bytes),
                          let key = try? PublicKey(bytes: client),
                          key.isValidSignature(signature, for: ServerMessage.authMessage(server: me.bytes, nonce: nonce, client: client))
                    else { throw TrellisError(.permissionDenied, "authentication failed: answer the challenge with a valid signature") }
                    peer = key
                    reader.release()
                    reader.owner = "key " + Hex.encode(key.bytes)
                    reader.maxMessageBytes = server.configuration.maxMessageBytes
                    lock.withLock { logger[metadataKey: "key"] = "\(Hex.encode(key.bytes).prefix(16))" }
                    log(.info, "authenticated")
                    outbox.send(ServerMessage.ready(access: try await readable(by: key)).encoded())
                    expect(within: server.configuration.sessionTimeout)
                    continue
                }
                switch type {
                case 1 where server.configuration.relay, 3 where server.configuration.relay:
                    throw TrellisError(.invalidArgument, "this server is a relay and keeps no history: send PUSH, NEED and SUBSCRIBE, not sync messages")
                case ServerMessage.pushType where server.configuration.relay:
                    guard case .push(let repository, let commits) = try ServerMessage.decode(bytes) else { continue }
                    try await relay(bytes, from: key, repository, commits)
                case ServerMessage.needType where server.configuration.relay:
                    guard case .need(let repository, _) = try ServerMessage.decode(bytes) else { continue }
                    guard server.policy.allows(key, .read, repository) else {
                        throw TrellisError(.permissionDenied, "\(Hex.encode(key.bytes)) may not read repository '\(repository)'")
                    }
                    _ = server.broker.forward(bytes, in: repository, except: ObjectIdentifier(self))
                case 1, 3:  // HELLO starts a session; SYNC continues it
                    if type == 1 { session = SessionBox(SyncResponder(engine: server.engine, authenticated: key, policy: server.policy)) }
                    guard let s = session else { throw TrellisError(.invalidArgument, "SYNC without a session: send HELLO first") }
                    try await handle(bytes, in: s)
                    if s.responder.finished || s.responder.failure != nil { session = nil }
                    expect(within: session == nil && subscribed ? nil : server.configuration.sessionTimeout)
                case 4:
                    session = nil
                    expect(within: subscribed ? nil : server.configuration.sessionTimeout)
                case ServerMessage.subscribeType:
                    guard case .subscribe(let names) = try ServerMessage.decode(bytes) else { continue }
                    try subscribe(key, names)
                    subscribed = true
                    if session == nil { expect(within: nil) }
                default:
                    throw TrellisError(.corruptData, "unexpected message type \(type)")
                }
            }
        } catch {
            fail(error, code: error.code == .permissionDenied ? .policyViolation : .protocolError)
        }
    }

    private func handle(_ request: [UInt8], in s: SessionBox) async throws(TrellisError) {
        let before = s.responder.report.commitsReceived
        let reply: [UInt8]
        do { reply = try await server.blocking { s.responder.handle(request) } } catch {
            throw TrellisError(.io, "the server is shutting down")
        }
        outbox.send(reply)
        if let failure = s.responder.failure {
            log(.info, "sync refused", ["error": "\(failure.message)"])
        }
        if s.responder.report.commitsReceived > before { await server.pushNew() }
        if s.responder.finished {
            let r = s.responder.report
            log(.info, "synced", ["rounds": "\(r.rounds)", "received": "\(r.commitsReceived)", "sent": "\(r.commitsSent)"])
        }
    }

    /// Relay mode: verifies a client's pushed commits (ids, signatures, repository, write access
    /// of the client and of each author), forwards the message unchanged, and acknowledges it.
    private func relay(_ message: [UInt8], from key: PublicKey, _ repository: String, _ commits: [WireCommit]) async throws(TrellisError) {
        let policy = server.policy
        let who = Hex.encode(key.bytes)
        guard policy.allows(key, .write, repository) else {
            throw TrellisError(.permissionDenied, "\(who) may not write to repository '\(repository)'")
        }
        let verdict: String?
        do {
            verdict = try await server.blocking { () -> String? in
                for c in commits {
                    let verified: SignedCommit
                    do { verified = try SignedCommit.verify(encoded: c.encoded, signature: c.signature) } catch { return (error as? TrellisError)?.message ?? "\(error)" }
                    guard verified.commit.repository == repository else {
                        return "commit \(verified.id.short) belongs to repository '\(verified.commit.repository)', not '\(repository)'"
                    }
                    if let author = verified.commit.author, !policy.allows(author, .write, repository) {
                        return "a commit by \(Hex.encode(author.bytes)) was refused: its author may not write to repository '\(repository)'"
                    }
                }
                return nil
            }
        } catch { throw TrellisError(.io, "the server is shutting down") }
        if let verdict { throw TrellisError(.permissionDenied, verdict) }
        let recipients = server.broker.forward(message, in: repository, except: ObjectIdentifier(self))
        outbox.send(ServerMessage.ack(recipients: recipients).encoded())
        log(.debug, "relayed", ["repository": "\(repository)", "commits": "\(commits.count)", "recipients": "\(recipients)"])
    }

    private func readable(by key: PublicKey) async throws(TrellisError) -> [ServerMessage.RepositoryAccess]? {
        let (policy, engine) = (server.policy, server.engine)
        let list: [ServerMessage.RepositoryAccess]?
        do {
            list = try await server.blocking {
                policy.readable(by: key, existing: (try? engine.repositoryNames()) ?? [])?.map { ServerMessage.RepositoryAccess(name: $0.name, write: $0.write, writers: $0.writers) }
            }
        } catch { throw TrellisError(.io, "the server is shutting down") }
        return list
    }

    private func subscribe(_ key: PublicKey, _ names: [String]) throws(TrellisError) {
        for name in names where !server.policy.allows(key, .read, name) {
            throw TrellisError(.permissionDenied, "\(Hex.encode(key.bytes)) may not read repository '\(name)'")
        }
        let subscriber = Broker.Subscriber(key: key, outbox: outbox) { [weak self] (reason: String) in
            guard let self else { return }
            self.server.broker.unsubscribe(ObjectIdentifier(self))
            self.log(.info, "dropping subscriber", ["reason": "\(reason)"])
            self.outbox.send(SyncMessage.error(reason).encoded())
            self.outbox.close(.policyViolation, reason)
            // A peer too slow to take the close frame is cut off.
            self.closeSoon()
        }
        try server.broker.subscribe(ObjectIdentifier(self), subscriber, to: names)
        log(.info, "subscribed", ["repositories": "\(names.joined(separator: ","))"])
    }
}

/// A session's responder, handed to the thread pool.
///
/// `@unchecked Sendable`: the read loop hands it one message at a time and awaits the reply
/// before the next, so two threads never use the responder at once.
final class SessionBox: @unchecked Sendable {
    let responder: SyncResponder
    init(_ responder: SyncResponder) { self.responder = responder }
}
