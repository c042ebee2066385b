import Foundation
import TrellisCore
import TrellisCrypto
import TrellisStorage

/// Who may read and write one repository of a serving store (docs/server.md §Access model).
/// Saved as a store setting (in a store directory `access/REPO.acl`, a short text file replaced
/// atomically), so a running server sees a change on its next check.
public struct AccessList: Sendable, Equatable {
    public enum Permission: String, Sendable, CaseIterable { case read, write }

    public var owner: PublicKey
    public var writers: [PublicKey] = []
    public var readers: [PublicKey] = []

    public init(owner: PublicKey) { self.owner = owner }

    static let header = "trellis-access 1"
    static let maxFileBytes = 1 << 20

    public func allows(_ key: PublicKey, _ permission: Permission) -> Bool {
        if key == owner || writers.contains(key) { return true }
        return permission == .read && readers.contains(key)
    }

    /// Grants `permission`; write includes read, so a writer is not listed as a reader too.
    public mutating func grant(_ key: PublicKey, _ permission: Permission) {
        switch permission {
        case .write:
            readers.removeAll { $0 == key }
            if !writers.contains(key) { writers.append(key) }
        case .read:
            if !writers.contains(key) && !readers.contains(key) { readers.append(key) }
        }
    }

    /// Revokes `permission`; revoking read removes write too. The owner cannot be revoked.
    public mutating func revoke(_ key: PublicKey, _ permission: Permission) throws(TrellisError) {
        guard key != owner else { throw TrellisError(.invalidArgument, "the owner's access cannot be revoked") }
        let wasWriter = writers.contains(key)
        writers.removeAll { $0 == key }
        if permission == .read {
            readers.removeAll { $0 == key }
        } else if wasWriter && !readers.contains(key) {
            readers.append(key)
        }
    }

    // MARK: Saving

    /// The repository's list, nil when it has none. A damaged list is an error: the caller
    /// must deny access rather than guess.
    package static func load(from store: any CommitStore, repository: String) throws(TrellisError) -> AccessList? {
        guard let bytes = try store.setting(.accessList(repository: repository)) else { return nil }
        let what = "of repository '\(repository)'"
        guard bytes.count <= maxFileBytes else { throw TrellisError(.corruptData, "the access list \(what) is too large") }
        return try decode(String(decoding: bytes, as: UTF8.self), file: what)
    }

    package func save(in store: any CommitStore, repository: String) throws(TrellisError) {
        guard StorageEngine.isValidRepositoryName(repository) else {
            throw TrellisError(.invalidArgument, "invalid repository name '\(repository)'")
        }
        try store.saveSetting(.accessList(repository: repository), Array(encoded().utf8))
    }

    func encoded() -> String {
        var lines = [Self.header, "owner " + Hex.encode(owner.bytes)]
        lines += writers.map { "write " + Hex.encode($0.bytes) }
        lines += readers.map { "read " + Hex.encode($0.bytes) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func decode(_ text: String, file: String) throws(TrellisError) -> AccessList {
        func bad(_ why: String) -> TrellisError { TrellisError(.corruptData, "the access list \(file) is damaged: \(why)") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.last == "" else { throw bad("it does not end with a newline") }
        lines.removeLast()
        guard lines.first.map(String.init) == header else { throw bad("the first line is not '\(header)'") }
        var list: AccessList?
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, let key = PublicKey(hex: String(parts[1])) else { throw bad("bad line '\(line.prefix(80))'") }
            switch parts[0] {
            case "owner" where list == nil: list = AccessList(owner: key)
            case "write" where list != nil: list?.writers.append(key)
            case "read" where list != nil: list?.readers.append(key)
            default: throw bad("unexpected line '\(line.prefix(80))'")
            }
        }
        guard let list else { throw bad("no owner") }
        return list
    }
}

extension PublicKey {
    /// A key written as 64 hexadecimal digits, as `trellis identity` prints it.
    public init?(hex: String) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex), let key = try? PublicKey(bytes: bytes) else { return nil }
        self = key
    }
}

/// What a serving store lets an authenticated peer do (docs/server.md §Access model).
package struct AccessPolicy: Sendable {
    /// The serving store, whose access lists are read on every check.
    package let store: any CommitStore
    /// The serving store's own identity, which may always read and write.
    package let server: PublicKey
    /// Every peer may read and write every repository (`--open`, for development).
    package let open: Bool

    package init(store: any CommitStore, server: PublicKey, open: Bool) {
        (self.store, self.server, self.open) = (store, server, open)
    }

    /// Whether `key` holds `permission` on `repository`, or on every repository when it is nil.
    /// A repository without a list belongs to the server alone; a damaged list denies everyone
    /// but the server.
    package func allows(_ key: PublicKey, _ permission: AccessList.Permission, _ repository: String?) -> Bool {
        if open || key == server { return true }
        guard let repository, let list = try? AccessList.load(from: store, repository: repository) else { return false }
        return list.allows(key, permission)
    }

    /// The repositories `key` may read, by name, with whether it may also write; nil when it
    /// may read everything. Repositories with a list but no commits yet are included.
    /// A repository a peer may read, with whether it may also write and, if so, who may write it.
    package struct Readable: Sendable, Equatable {
        package let name: String
        package let write: Bool
        package let writers: [PublicKey]
    }

    package func readable(by key: PublicKey, existing: [String]) -> [Readable]? {
        if open || key == server { return nil }
        let names = Set(existing).union((try? store.repositoriesWithAccessLists()) ?? [])
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.compactMap { name in
            guard allows(key, .read, name) else { return nil }
            let write = allows(key, .write, name)
            return Readable(name: name, write: write, writers: write ? writers(of: name) : [])
        }
    }

    /// Every key that may write `repository`: the server, the list's owner and its writers, sorted.
    package func writers(of repository: String) -> [PublicKey] {
        var keys: Set<PublicKey> = [server]
        if let list = try? AccessList.load(from: store, repository: repository) {
            keys.insert(list.owner)
            keys.formUnion(list.writers)
        }
        return keys.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }
}
