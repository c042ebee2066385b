import TrellisCore
import TrellisCrypto
import TrellisStorage
import TrellisSync

/// The messages a WebSocket connection adds around the sync protocol (docs/server.md §Wire):
/// authentication, the repositories a peer may use, subscriptions and pushed commits. They
/// share the sync messages' header (version 1, then a type byte); types 1–4 are sync messages.
package enum ServerMessage: Equatable {
    case challenge(server: [UInt8], nonce: [UInt8], relay: Bool)
    case auth(client: [UInt8], signature: [UInt8])
    /// nil: the peer may read and write every repository.
    case ready(access: [RepositoryAccess]?)
    case subscribe([String])
    case push(repository: String, commits: [WireCommit])
    /// Relay mode: ids a client lacks, asked of the other clients of the repository.
    case need(repository: String, ids: [CommitID])
    /// Relay mode: a client's PUSH was verified and forwarded to this many clients.
    case ack(recipients: Int)

    package struct RepositoryAccess: Equatable {
        package var name: String
        package var write: Bool
        /// Where the peer may write: every key that may write there, so that the peer can
        /// withhold commits by other authors that the server would refuse.
        package var writers: [PublicKey] = []

        package init(name: String, write: Bool, writers: [PublicKey] = []) {
            (self.name, self.write, self.writers) = (name, write, writers)
        }
    }

    /// At most this many writer keys per repository in `READY`.
    package static let maxWriters = 10_000

    package static let challengeType: UInt8 = 16
    package static let authType: UInt8 = 17
    package static let readyType: UInt8 = 18
    package static let subscribeType: UInt8 = 19
    package static let pushType: UInt8 = 20
    package static let needType: UInt8 = 21
    package static let ackType: UInt8 = 22

    package static let nonceSize = 32
    package static let authContext = Array("trellis-auth-v1\0".utf8)

    /// The bytes a client signs to prove its key: a context string, the server's key, the
    /// server's fresh nonce and the client's key (so a signature answers one challenge only).
    package static func authMessage(server: [UInt8], nonce: [UInt8], client: [UInt8]) -> [UInt8] {
        authContext + server + nonce + client
    }

    /// The message type of any message, sync or server; nil for an empty or foreign one.
    package static func type(of bytes: [UInt8]) -> UInt8? {
        bytes.count >= 2 && bytes[0] == SyncMessage.version ? bytes[1] : nil
    }

    package func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 128)
        w.u8(SyncMessage.version)
        switch self {
        case .challenge(let server, let nonce, let relay):
            w.u8(Self.challengeType)
            w.raw(server)
            w.raw(nonce)
            w.u8(relay ? 1 : 0)
        case .auth(let client, let signature):
            w.u8(Self.authType)
            w.raw(client)
            w.raw(signature)
        case .ready(let access):
            w.u8(Self.readyType)
            w.u8(access == nil ? 1 : 0)
            w.varint(UInt64(access?.count ?? 0))
            for a in access ?? [] {
                w.string(a.name)
                w.u8(a.write ? 1 : 0)
                if a.write {
                    w.varint(UInt64(a.writers.count))
                    for k in a.writers { w.raw(k.bytes) }
                }
            }
        case .subscribe(let names):
            w.u8(Self.subscribeType)
            w.varint(UInt64(names.count))
            for name in names { w.string(name) }
        case .push(let repository, let commits):
            w.u8(Self.pushType)
            w.string(repository)
            SyncMessage.writeCommits(commits, to: &w)
        case .need(let repository, let ids):
            w.u8(Self.needType)
            w.string(repository)
            w.varint(UInt64(ids.count))
            for id in ids { id.write(to: &w) }
        case .ack(let recipients):
            w.u8(Self.ackType)
            w.varint(UInt64(recipients))
        }
        return w.bytes
    }

    package static func decode(_ bytes: [UInt8]) throws(TrellisError) -> ServerMessage {
        guard bytes.count <= SyncMessage.maxMessageBytes else {
            throw TrellisError(.corruptData, "message of \(bytes.count) bytes exceeds the limit of \(SyncMessage.maxMessageBytes)")
        }
        var r = ByteReader(bytes)
        let message: ServerMessage
        do throws(TrellisError) {
            guard try r.u8() == SyncMessage.version else { throw TrellisError(.corruptData, "unsupported protocol version") }
            switch try r.u8() {
            case challengeType:
                message = .challenge(server: Array(try r.raw(32)), nonce: Array(try r.raw(nonceSize)), relay: try flag(&r))
            case authType:
                message = .auth(client: Array(try r.raw(32)), signature: Array(try r.raw(64)))
            case readyType:
                let everything = try flag(&r)
                var access: [RepositoryAccess] = []
                for _ in 0..<(try count(&r, max: SyncMessage.maxSelection)) {
                    var a = RepositoryAccess(name: try repositoryName(&r), write: try flag(&r))
                    if a.write {
                        for _ in 0..<(try count(&r, max: maxWriters)) {
                            let bytes = Array(try r.raw(32))
                            guard let key = try? PublicKey(bytes: bytes) else {
                                throw TrellisError(.corruptData, "a writer key is not 32 bytes")
                            }
                            a.writers.append(key)
                        }
                    }
                    access.append(a)
                }
                message = .ready(access: everything ? nil : access)
            case subscribeType:
                var names: [String] = []
                for _ in 0..<(try count(&r, max: SyncMessage.maxSelection)) { names.append(try repositoryName(&r)) }
                message = .subscribe(names)
            case pushType:
                message = .push(repository: try repositoryName(&r), commits: try SyncMessage.readCommits(&r))
            case needType:
                let repository = try repositoryName(&r)
                var ids: [CommitID] = []
                for _ in 0..<(try count(&r, max: SyncMessage.maxNeed)) { ids.append(try r.commitID()) }
                message = .need(repository: repository, ids: ids)
            case ackType:
                let n = try r.varint()
                guard n <= UInt64(UInt32.max) else { throw TrellisError(.corruptData, "a count of \(n) is out of range") }
                message = .ack(recipients: Int(n))
            case let type:
                throw TrellisError(.corruptData, "unknown message type \(type)")
            }
            guard r.isAtEnd else { throw TrellisError(.corruptData, "trailing bytes") }
        } catch {
            throw TrellisError(.corruptData, "malformed message: \(error.message)")
        }
        return message
    }

    private static func flag(_ r: inout ByteReader) throws(TrellisError) -> Bool {
        switch try r.u8() {
        case 0: return false
        case 1: return true
        default: throw TrellisError(.corruptData, "a flag byte is 0 or 1")
        }
    }

    private static func count(_ r: inout ByteReader, max: Int) throws(TrellisError) -> Int {
        let n = try r.length()
        guard n <= max else { throw TrellisError(.corruptData, "a count of \(n) exceeds \(max)") }
        return n
    }

    private static func repositoryName(_ r: inout ByteReader) throws(TrellisError) -> String {
        let name = try r.string()
        guard StorageEngine.isValidRepositoryName(name) else { throw TrellisError(.corruptData, "invalid repository name") }
        return name
    }
}
