import Trellis
import TrellisCore
import TrellisCrypto
import TrellisStorage
import TrellisSync

public typealias AccessList = TrellisSync.AccessList

extension Store {
    /// The access list a server on this store applies to `repository`, nil when it has none (then
    /// only this store's identity may read or write it). See docs/server.md §Access model.
    public func accessList(_ repository: String) throws(TrellisError) -> AccessList? {
        guard StorageEngine.isValidRepositoryName(repository) else {
            throw TrellisError(.invalidArgument, "invalid repository name '\(repository)'")
        }
        return try AccessList.load(from: engine, repository: repository)
    }

    /// Grants or revokes a permission and saves the list atomically; a running server applies it
    /// from its next check. A repository without a list gets one owned by this store's identity.
    @discardableResult
    public func changeAccess(_ repository: String, grant: Bool, _ key: PublicKey,
                             _ permission: AccessList.Permission) throws(TrellisError) -> AccessList {
        let existing = try accessList(repository)
        var list = if let existing { existing } else { AccessList(owner: try identity) }
        if grant { list.grant(key, permission) } else { try list.revoke(key, permission) }
        try list.save(in: engine, repository: repository)
        return list
    }
}
