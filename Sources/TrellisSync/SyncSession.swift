import TrellisCore
import TrellisCrypto
import TrellisStorage

/// The side that starts a sync: sends HELLO, then a request for every reply until the
/// responder says the stores agree (docs/sync.md §The session).
package final class SyncInitiator {
    package static let maxRounds = 10_000
    package static let maxIdleRounds = 16

    private let endpoint: SyncEndpoint
    private let peerKey: String
    private var lastSent: SyncEndpoint.Snapshot?
    private var saved: PeerState.Entry?
    package private(set) var finished = false
    /// Whether the responder tested the request it is answering against a filter of this
    /// side's commits: not a first-contact HELLO (it ignores that filter), not a SYNC sent
    /// without a filter (`more`).
    private var requestTested = false
    /// Replies in a row that moved nothing although they answered a tested request. A false
    /// positive hides a commit from one such reply only, since every filter has a fresh salt.
    private var testedIdleReplies = 0
    /// Pulling only: tested idle replies after which the responder has sent everything. Each
    /// hides a commit the responder holds with the filter's false-positive rate (about 1%), so
    /// the chance that one stays hidden is about 10⁻⁶; the next sync fetches it.
    package static let pullOnlyIdleReplies = 3

    /// `address` names the responder for this store's per-peer state (a canonical path or a
    /// URL); `repositories` selects what to sync, all when empty. Commits of repositories outside
    /// `pushable` (when given) are not sent: the session pulls them only, and ends once the
    /// responder has nothing more to send (docs/server.md §Readers).
    package init(engine: any CommitStore, address: String, repositories: [String] = [], pushable: Set<String>? = nil,
                writers: [String: Set<PublicKey>]? = nil) throws(TrellisError) {
        for name in repositories where !StorageEngine.isValidRepositoryName(name) {
            throw TrellisError(.invalidArgument, "invalid repository name '\(name)'")
        }
        endpoint = SyncEndpoint(engine: engine)
        endpoint.select(Array(Set(repositories)).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        endpoint.pushable = pushable
        endpoint.writers = writers
        peerKey = address
    }

    package var report: SyncReport { endpoint.report }

    package func hello() throws(TrellisError) -> [UInt8] {
        saved = endpoint.savedState(peer: peerKey)
        let snapshot = try endpoint.snapshot()
        lastSent = snapshot
        let filter = saved != nil ? try endpoint.filter(marks: saved?.marks) : try BloomFilter([CommitID]())
        let hello = Hello(peer: try endpoint.engine.identity.publicKey.bytes, token: saved?.token ?? SyncMessage.zeroToken,
                          selection: endpoint.selection, digest: snapshot.digest, filter: filter)
        return endpoint.countSent(SyncMessage.hello(hello).encoded())
    }

    /// Handles a reply; returns the next request, or nil when the sync is complete.
    package func handle(_ reply: [UInt8]) throws(TrellisError) -> [UInt8]? {
        guard !finished, let sent = lastSent else { throw TrellisError(.invalidArgument, "the sync session is not expecting a reply") }
        endpoint.report.rounds += 1
        let body: SyncBody
        switch try endpoint.decodeReceived(reply) {
        case .welcome(_, let accepted, let b) where endpoint.report.rounds == 1:
            endpoint.scopeMarks = accepted ? (saved?.marks ?? [:]) : nil
            requestTested = accepted
            body = b
        case .sync(let b) where endpoint.report.rounds > 1:
            body = b
        case .error(let text):
            throw TrellisError(.invalidArgument, "the peer refused the sync: \(text)")
        default:
            throw TrellisError(.corruptData, "the peer sent a message out of turn")
        }
        if body.done {
            guard body.digest == sent.digest else { throw TrellisError(.corruptData, "the peer ended the sync with different heads") }
            try endpoint.saveState(peer: peerKey, token: sent.digest, marks: sent.marks)
            finished = true
            return nil
        }
        try endpoint.absorb(body)
        if endpoint.idleRounds == 0 { testedIdleReplies = 0 } else if requestTested { testedIdleReplies += 1 }
        // Pulling only: when all that differs is withheld, idle replies to several fresh filters
        // mean the responder has sent everything. No token is saved; the stores still differ.
        if !endpoint.withheld.isEmpty, testedIdleReplies >= Self.pullOnlyIdleReplies,
           !endpoint.hasQueued, !endpoint.hasHeld, !endpoint.hasNeeds {
            endpoint.report.commitsWithheld = endpoint.withheld.count
            finished = true
            return nil
        }
        guard endpoint.report.rounds < Self.maxRounds, endpoint.idleRounds < Self.maxIdleRounds else {
            throw TrellisError(.invalidArgument, "the sync did not converge after \(endpoint.report.rounds) round trips")
        }
        let snapshot = try endpoint.snapshot()
        lastSent = snapshot
        let next = try endpoint.nextBody(digest: snapshot.digest, withFilter: !body.more)
        requestTested = next.filter != nil
        return endpoint.countSent(SyncMessage.sync(next).encoded())
    }
}

/// The side that answers: one reply for every request. Failures become ERROR replies, and
/// `failure` keeps the reason.
package final class SyncResponder {
    private let endpoint: SyncEndpoint
    private var peerKey: String?
    package private(set) var failure: TrellisError?
    package private(set) var finished = false

    private let authenticated: PublicKey?
    private let policy: AccessPolicy?

    /// `authenticated` is the key the transport proved the initiator holds; HELLO must name it.
    /// With a `policy`, the initiator must name the repositories it syncs, may select only those
    /// it can read, and may send commits only where it and each commit's author can write.
    package init(engine: any CommitStore, authenticated: PublicKey? = nil, policy: AccessPolicy? = nil) {
        endpoint = SyncEndpoint(engine: engine)
        self.authenticated = authenticated
        self.policy = policy
    }

    package var report: SyncReport { endpoint.report }

    /// The initiator's identity once HELLO has arrived.
    package private(set) var peer: PublicKey?

    package func handle(_ request: [UInt8]) -> [UInt8] {
        do throws(TrellisError) {
            guard failure == nil, !finished else { throw TrellisError(.invalidArgument, "the sync session has ended") }
            return endpoint.countSent(try respond(to: try endpoint.decodeReceived(request)).encoded())
        } catch {
            failure = error
            return endpoint.countSent(SyncMessage.error(error.message).encoded())
        }
    }

    private func respond(to message: SyncMessage) throws(TrellisError) -> SyncMessage {
        endpoint.report.rounds += 1
        switch message {
        case .hello(let hello) where peerKey == nil:
            guard let key = try? PublicKey(bytes: hello.peer) else { throw TrellisError(.corruptData, "HELLO names an invalid peer key") }
            if let authenticated, authenticated != key {
                throw TrellisError(.permissionDenied, "HELLO names a key other than the one that authenticated")
            }
            peer = key
            if let policy { try authorize(key, hello.selection, policy) }
            let peerKey = "key:" + Hex.encode(hello.peer)
            self.peerKey = peerKey
            endpoint.select(hello.selection)
            let saved = endpoint.savedState(peer: peerKey)
            let accepted = hello.token != SyncMessage.zeroToken && saved?.token == hello.token
            endpoint.scopeMarks = accepted ? saved?.marks : nil
            let me = try endpoint.engine.identity.publicKey.bytes
            // Absorbing a filter stores nothing, so one snapshot serves both the check and the reply.
            let snapshot = try endpoint.snapshot()
            if let done = try finishIfEqual(snapshot, to: hello.digest, request: nil) {
                return .welcome(peer: me, accepted: accepted, body: done)
            }
            if accepted { try endpoint.absorb(SyncBody(digest: hello.digest, filter: hello.filter)) }
            return .welcome(peer: me, accepted: accepted, body: try endpoint.nextBody(digest: snapshot.digest, withFilter: true))
        case .sync(let body) where peerKey != nil:
            try endpoint.absorb(body)
            let snapshot = try endpoint.snapshot()
            if let done = try finishIfEqual(snapshot, to: body.digest, request: body) { return .sync(done) }
            return .sync(try endpoint.nextBody(digest: snapshot.digest, withFilter: !body.more))
        case .error(let text):
            throw TrellisError(.invalidArgument, "the peer gave up: \(text)")
        default:
            throw TrellisError(.corruptData, "message out of turn")
        }
    }

    private func authorize(_ key: PublicKey, _ selection: [String], _ policy: AccessPolicy) throws(TrellisError) {
        let who = Hex.encode(key.bytes)
        if selection.isEmpty && !policy.allows(key, .read, nil) {
            throw TrellisError(.permissionDenied, "\(who) must name the repositories to sync")
        }
        for name in selection where !policy.allows(key, .read, name) {
            throw TrellisError(.permissionDenied, "\(who) may not read repository '\(name)'")
        }
        endpoint.authorize = { (header: Commit.Header) throws(TrellisError) in
            guard policy.allows(key, .write, header.repository) else {
                throw TrellisError(.permissionDenied, "\(who) may not write to repository '\(header.repository)'")
            }
            if let author = header.author, !policy.allows(author, .write, header.repository) {
                throw TrellisError(.permissionDenied,
                                   "a commit by \(Hex.encode(author.bytes)) was refused: its author may not write to repository '\(header.repository)'")
            }
        }
    }

    /// A done body when this side now holds exactly what the request's digest covers and has
    /// nothing left to send or ask for; the token is saved first.
    private func finishIfEqual(_ snapshot: SyncEndpoint.Snapshot, to digest: [UInt8],
                               request: SyncBody?) throws(TrellisError) -> SyncBody? {
        guard !endpoint.hasQueued, !endpoint.hasHeld, request?.need.isEmpty ?? true, request?.more != true,
              snapshot.digest == digest, let peerKey else { return nil }
        try endpoint.saveState(peer: peerKey, token: digest, marks: snapshot.marks)
        finished = true
        return SyncBody.done(digest: digest)
    }
}

/// Runs a whole sync from the initiator's side over a request-reply transport.
public enum Sync {
    /// Watches a sync: `progress` after every round trip, `trace` with every message (true
    /// for one this side sent).
    /// Called as a session runs, from whichever thread or task runs it (a server sync runs in
    /// the connection's task), hence `@Sendable`.
    public struct Observer: Sendable {
        public var progress: (@Sendable (SyncReport) -> Void)?
        public var trace: (@Sendable ([UInt8], Bool) -> Void)?

        public init(progress: (@Sendable (SyncReport) -> Void)? = nil, trace: (@Sendable ([UInt8], Bool) -> Void)? = nil) {
            self.progress = progress
            self.trace = trace
        }
    }

    package static func run(_ initiator: SyncInitiator, observer: Observer = Observer(),
                           exchange: ([UInt8]) throws(TrellisError) -> [UInt8]) throws(TrellisError) -> SyncReport {
        var request: [UInt8]? = try initiator.hello()
        while let r = request {
            observer.trace?(r, true)
            let reply = try exchange(r)
            observer.trace?(reply, false)
            request = try initiator.handle(reply)
            observer.progress?(initiator.report)
        }
        return initiator.report
    }

    /// `run` over a transport that waits (a network connection).
    package static func run(_ initiator: SyncInitiator, observer: Observer = Observer(),
                           exchange: ([UInt8]) async throws(TrellisError) -> [UInt8]) async throws(TrellisError) -> SyncReport {
        var request: [UInt8]? = try initiator.hello()
        while let r = request {
            observer.trace?(r, true)
            let reply = try await exchange(r)
            observer.trace?(reply, false)
            request = try initiator.handle(reply)
            observer.progress?(initiator.report)
        }
        return initiator.report
    }

    /// Syncs two stores open in this process, both ways (the in-memory and directory transports).
    @discardableResult
    package static func between(_ local: any CommitStore, _ remote: any CommitStore, address: String, repositories: [String] = [],
                               observer: Observer = Observer()) throws(TrellisError) -> SyncReport {
        let initiator = try SyncInitiator(engine: local, address: address, repositories: repositories)
        let responder = SyncResponder(engine: remote)
        return try run(initiator, observer: observer) { responder.handle($0) }
    }
}
