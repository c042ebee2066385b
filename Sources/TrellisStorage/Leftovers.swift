import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that interrupted writes leave behind (docs/architecture.md §Leftovers): temporary
/// files (`*.tmp-PID`), pack indexes whose pack was never renamed into place, and
/// repositories being built aside (`repos/.new-NAME-PID`) or being removed (`repos/.rm-NAME-PID`). They hold nothing that was
/// acknowledged. Only a holder of the write lock removes them (a writer's own temporary files
/// exist only while it holds the lock); `fsck` reports them.
enum Leftovers {
    static func find(inStore store: String) -> [String] {
        var out: [String] = []
        let repos = store + "/repos"
        for name in ((try? FileSystem.list(repos)) ?? []).sorted() {
            let dir = repos + "/" + name
            if name.hasPrefix(".new-") || name.hasPrefix(".rm-") {
                out.append(dir)
                continue
            }
            guard StorageEngine.isValidRepositoryName(name) else { continue }
            out += find(inRepository: dir)
        }
        return out
    }

    static func find(inRepository dir: String) -> [String] {
        var out: [String] = []
        for name in ((try? FileSystem.list(dir)) ?? []).sorted() where name.contains(".tmp-") { out.append(dir + "/" + name) }
        let packs = dir + "/packs"
        for name in ((try? FileSystem.list(packs)) ?? []).sorted() {
            let isTemporary = name.contains(".tmp-")
            let isOrphanIndex = name.hasSuffix(".idx") && !FileSystem.exists(packs + "/" + name.dropLast(4) + ".pack")
            if isTemporary || isOrphanIndex { out.append(packs + "/" + name) }
        }
        return out
    }

    /// A repository directory holds a log, or at least packs to recover; an empty or half-made
    /// directory is not one.
    static func isRepository(_ dir: String) -> Bool {
        let name = String(dir.split(separator: "/").last ?? "")
        return StorageEngine.isValidRepositoryName(name) && (FileSystem.exists(dir + "/log") || FileSystem.isDirectory(dir + "/packs"))
    }

    /// Removes what `find` lists; the caller holds the write lock.
    static func remove(_ paths: [String]) {
        for path in paths {
            if FileSystem.isDirectory(path) { try? FileManager.default.removeItem(atPath: path) } else { unlink(path) }
        }
    }
}
