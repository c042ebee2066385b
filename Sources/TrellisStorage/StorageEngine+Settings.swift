import Foundation
import TrellisCore
import TrellisCrypto

// Settings beside the repositories (docs/format.md §Store layout): `peers/` holds one file per
// peer, named by a hash of its address; `access/` one access list per repository.
extension StorageEngine: RecordStore {
    static let accessListSuffix = ".acl"

    func settingPath(_ name: StoreSetting) -> String {
        switch name {
        case .peerState(let peer):
            path + "/peers/" + Hex.encode(Array(Blake2b256.hash(Array(peer.utf8)).prefix(16)))
        case .accessList(let repository):
            path + "/access/" + repository + Self.accessListSuffix
        }
    }

    package func setting(_ name: StoreSetting) throws(TrellisError) -> [UInt8]? {
        let file = settingPath(name)
        guard FileSystem.exists(file) else { return nil }
        return try FileSystem.readAll(file)
    }

    package func saveSetting(_ name: StoreSetting, _ bytes: [UInt8]) throws(TrellisError) {
        let file = settingPath(name)
        try FileSystem.makeDirectory(String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)]))
        try FileSystem.writeAtomically(file, bytes)
    }

    package func repositoriesWithAccessLists() throws(TrellisError) -> [String] {
        ((try? FileSystem.list(path + "/access")) ?? []).compactMap { file in
            guard file.hasSuffix(Self.accessListSuffix) else { return nil }
            let name = String(file.dropLast(Self.accessListSuffix.count))
            return StorageEngine.isValidRepositoryName(name) ? name : nil
        }.sorted()
    }

    /// `path:` and the store's path with symbolic links resolved.
    package var peerAddress: String {
        "path:" + URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
    }
}
