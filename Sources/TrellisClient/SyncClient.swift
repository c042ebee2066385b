import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import TrellisCore
import TrellisCrypto
import TrellisStorage
import TrellisSync

/// The client side of a WebSocket connection to `trellis serve`, after authentication
/// (docs/server.md §Wire). Pushed commits go to `onPush` while the caller waits for replies.
///
/// `@unchecked Sendable`: it is used by the one task that runs `run`'s body, and its handlers
/// are called from that task's receive loop, so its mutable state is never shared.
final class ClientConnection: @unchecked Sendable {
    let engine: any CommitStore
    let url: String
    /// The repositories this client may use, as the server said; nil means all of them.
    private(set) var access: [ServerMessage.RepositoryAccess]?
    /// The server is a relay (docs/server.md §Relay mode): it keeps no history.
    private(set) var relay = false
    var onPush: ((String, [WireCommit]) async throws(TrellisError) -> Void)?
    /// Relay mode: another client asks for commits by id.
    var onNeed: ((String, [CommitID]) async throws(TrellisError) -> Void)?
    private var reader: MessageReader
    private let outbound: WebSocketOutboundWriter

    private init(engine: any CommitStore, url: String, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) {
        self.engine = engine
        self.url = url
        self.outbound = outbound
        reader = MessageReader(inbound, maxMessageBytes: SyncMessage.maxMessageBytes, budget: nil)
    }

    /// `ws://HOST:PORT` as users write it, with the `/sync` path added when none is given.
    static func endpoint(_ url: String) throws(TrellisError) -> String {
        guard let parts = URLComponents(string: url), ["ws", "wss"].contains(parts.scheme ?? ""), parts.host?.isEmpty == false else {
            throw TrellisError(.invalidArgument, "'\(url)' is not a ws:// or wss:// URL")
        }
        return parts.path.isEmpty || parts.path == "/" ? url.trimmingSuffix("/") + "/sync" : url
    }

    /// Connects, authenticates with the store's identity and runs `body`; the connection closes
    /// when it returns.
    static func run<T: Sendable>(url: String, engine: any CommitStore, logger: Logger = Logger(label: "trellis.client"),
                                 _ body: @escaping @Sendable (ClientConnection) async throws(TrellisError) -> T) async throws(TrellisError) -> T {
        let endpoint = try endpoint(url)
        let result = ResultBox<T>()
        let client = WebSocketClient(url: endpoint, configuration: .init(maxFrameSize: 1 << 20), logger: logger) { inbound, outbound, _ in
            let connection = ClientConnection(engine: engine, url: url, inbound: inbound, outbound: outbound)
            do throws(TrellisError) {
                try await connection.authenticate()
                result.set(.success(try await body(connection)))
            } catch {
                result.set(.failure(error))
            }
        }
        do { try await client.run() } catch {
            if result.get() == nil { throw TrellisError(.network, "cannot connect to \(endpoint): \(Self.describe(error))") }
        }
        switch result.get() {
        case .success(let value): return value
        case .failure(let error): throw error
        case nil: throw TrellisError(.network, "the server at \(endpoint) closed the connection")
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let e = error as? IOError { return e.description }
        return String(describing: error)
    }

    /// Sends a request and returns its reply (pushes in between go to `onPush`).
    func exchange(_ request: [UInt8]) async throws(TrellisError) -> [UInt8] {
        try await send(request)
        return try await receive()
    }

    func send(_ bytes: [UInt8]) async throws(TrellisError) {
        do { try await outbound.writeBinaryMessage(ByteBuffer(bytes: bytes)) } catch {
            throw TrellisError(.network, "the connection to \(url) failed: \(error)")
        }
    }

    /// The next message that is not a push or a need; those go to `onPush` and `onNeed`.
    func receive() async throws(TrellisError) -> [UInt8] {
        while true {
            guard let bytes = try await reader.next() else {
                throw TrellisError(.network, "the server at \(url) closed the connection")
            }
            reader.release()
            switch ServerMessage.type(of: bytes) {
            case ServerMessage.pushType:
                guard case .push(let repository, let commits) = try ServerMessage.decode(bytes) else { continue }
                try await onPush?(repository, commits)
            case ServerMessage.needType:
                guard case .need(let repository, let ids) = try ServerMessage.decode(bytes) else { continue }
                try await onNeed?(repository, ids)
            default:
                return bytes
            }
        }
    }

    /// A server message of one type; an ERROR becomes a thrown refusal.
    private func expect(_ type: UInt8) async throws(TrellisError) -> ServerMessage {
        let bytes = try await receive()
        if ServerMessage.type(of: bytes) == 4, case .error(let text) = try SyncMessage.decode(bytes) {
            throw TrellisError(.permissionDenied, "the server refused: \(text)")
        }
        guard ServerMessage.type(of: bytes) == type else { throw TrellisError(.corruptData, "the server sent a message out of turn") }
        return try ServerMessage.decode(bytes)
    }

    private func authenticate() async throws(TrellisError) {
        guard case .challenge(let server, let nonce, let relay) = try await expect(ServerMessage.challengeType) else { return }
        self.relay = relay
        let me = try engine.identity
        let signature = me.sign(ServerMessage.authMessage(server: server, nonce: nonce, client: me.publicKey.bytes))
        try await send(ServerMessage.auth(client: me.publicKey.bytes, signature: signature).encoded())
        guard case .ready(let access) = try await expect(ServerMessage.readyType) else { return }
        self.access = access
    }

    /// One sync session over this connection (docs/sync.md); with no repositories named, every
    /// repository this client may read. Through a relay, a push of what arrived since the last
    /// push to it instead.
    func sync(_ repositories: [String], observer: Sync.Observer = Sync.Observer()) async throws(TrellisError) -> SyncReport {
        if relay { return try await pushToRelay(repositories, observer: observer) }
        var selection = repositories
        if selection.isEmpty, let access {
            selection = access.map(\.name)
            guard !selection.isEmpty else {
                throw TrellisError(.permissionDenied, "the server grants \(Hex.encode(try engine.identity.publicKey.bytes)) no repository")
            }
        }
        let pushable = access.map { Set($0.filter(\.write).map(\.name)) }
        let writers = access.map { list in
            Dictionary(list.filter(\.write).map { ($0.name, Set($0.writers)) }, uniquingKeysWith: { a, _ in a })
        }
        let initiator = try SyncInitiator(engine: engine, address: "url:" + url, repositories: selection, pushable: pushable,
                                          writers: writers)
        return try await Sync.run(initiator, observer: observer, exchange: exchange)
    }

    /// Relay mode: pushes each repository's commits that arrived since the last push to this
    /// relay (all of them the first time), parents first, waiting for each acknowledgement.
    private func pushToRelay(_ repositories: [String], observer: Sync.Observer) async throws(TrellisError) -> SyncReport {
        var selection = repositories
        if selection.isEmpty, let access { selection = access.filter(\.write).map(\.name) }
        if selection.isEmpty, access == nil { selection = try engine.repositoryNames() }
        let address = "url:" + url
        let saved = PeerState.entry(in: engine, peer: address, selection: selection)?.marks ?? [:]
        var marks = saved
        var report = SyncReport()
        for repository in selection {
            let arrived = try engine.arrivals(in: repository, since: saved[repository] ?? 0)
            let ids = arrived.ids, end = arrived.end
            var batches = CommitBatches(engine: engine, repository: repository, ids: ids)
            while let batch = try batches.nextBatch() {
                let message = ServerMessage.push(repository: repository, commits: batch).encoded()
                observer.trace?(message, true)
                let reply = try await exchange(message)
                observer.trace?(reply, false)
                if case .error(let text)? = try? SyncMessage.decode(reply) {
                    throw TrellisError(.permissionDenied, "the relay refused the push: \(text)")
                }
                guard case .ack = try ServerMessage.decode(reply) else { throw TrellisError(.corruptData, "the relay sent a message out of turn") }
                report.rounds += 1
                report.commitsSent += batch.count
                report.bytesSent += message.count
                report.bytesReceived += reply.count
                observer.progress?(report)
            }
            marks[repository] = end
        }
        try PeerState.save(in: engine, peer: address, PeerState.Entry(selection: selection, token: SyncMessage.zeroToken, marks: marks))
        return report
    }

    func subscribe(_ repositories: [String]) async throws(TrellisError) {
        try await send(ServerMessage.subscribe(repositories).encoded())
    }
}

/// Hands a value out of the WebSocket handler.
final class ResultBox<T: Sendable>: Sendable {
    private let value = Locked<Result<T, TrellisError>?>(nil)
    func set(_ v: Result<T, TrellisError>) { value.withLock { $0 = v } }
    func get() -> Result<T, TrellisError>? { value.withLock { $0 } }
}

extension String {
    fileprivate func trimmingSuffix(_ s: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) : self }
}
