import TrellisCore

/// Display names for identities (docs/format.md §Display names): each is a record of the
/// reserved repository `_identities`, keyed by the identity's public key in hex, with a document
/// `{"name": "..."}`. It syncs like any record. A name counts only in a commit signed by the key
/// it names, so nobody can name someone else.
extension Store {
    /// The repository holding display names.
    public static let identitiesRepository = "_identities"

    /// Gives this store's identity a display name (1-100 characters, no control characters),
    /// written as a signed commit; returns its id.
    @discardableResult
    public func setDisplayName(_ name: String) throws(TrellisError) -> CommitID {
        let trimmed = String(name.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard (1...100).contains(trimmed.count), !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw TrellisError(.invalidArgument, "a display name needs 1 to 100 characters and no control characters")
        }
        let key = Hex.encode(try identity.bytes)
        return try repository(Store.identitiesRepository).put(key, Document([("name", .string(trimmed))]))
    }

    /// Every display name this store holds, by identity. A record whose newest commit signed by
    /// its own key has no valid name is left out; so are commits by other keys.
    public func displayNames() throws(TrellisError) -> [PublicKey: String] {
        guard try repositoryNames().contains(Store.identitiesRepository) else { return [:] }
        let repo = try repository(Store.identitiesRepository)
        var out: [PublicKey: String] = [:]
        for key in try repo.keys() {
            guard key == key.lowercased(), let bytes = Hex.decode(key), let owner = try? PublicKey(bytes: bytes) else { continue }
            for c in try repo.log(LogQuery(key: key)) where c.author == owner {
                if case .string(let name)? = try repo.document(at: c.id)?["name"] { out[owner] = name }
                break
            }
        }
        return out
    }
}
