import ArgumentParser
import Trellis

@main
struct TrellisCommand: AsyncParsableCommand {
    static let version = "0.15.0"

    static let configuration = CommandConfiguration(
        commandName: "trellis",
        abstract: "A commit-graph database of versioned, signed records.",
        discussion: """
            The store is found via --store DIR, then $TRELLIS_STORE, then the nearest .trellis directory upwards from the current directory. Writers wait up to $TRELLIS_LOCK_TIMEOUT seconds (default 10) for another writer. $TRELLIS_DURABILITY (full, batched or none; default full) decides when a write is acknowledged, and $TRELLIS_SEAL_BYTES (default 16777216) when a repository's log is sealed into a pack.
            """,
        version: "trellis \(TrellisCommand.version)",
        subcommands: [
            Init.self, Identity.self, Put.self, Get.self, Remove.self, Repos.self, Keys.self, Heads.self,
            Log.self, Diff.self, Show.self, BlameCommand.self, Cat.self, Conflicts.self, Revert.self, Resolve.self, Merge.self, MergeFile.self, Import.self, Export.self, FsckCommand.self, Repack.self, Upgrade.self, Stats.self, SyncCommand.self, BundleCommand.self, Serve.self, Watch.self, AccessCommand.self, Bench.self,
        ]
    )

    /// Options that belong to every command may also come before the command's name, as in
    /// `trellis --store DIR log tasks`: they are moved after it before parsing.
    static func main() async {
        Allocator.keepFreedMemory()
        await main(Self.movingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
    }

    static let globalOptions: Set<String> = ["--store", "--color"]

    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var moved: [String] = []
        var rest = arguments
        while let first = rest.first, first.hasPrefix("--") {
            let name = String(first.prefix { $0 != "=" })
            guard globalOptions.contains(name) else { break }
            moved.append(rest.removeFirst())
            if !first.contains("="), let value = rest.first {
                moved.append(value)
                rest.removeFirst()
            }
        }
        guard !moved.isEmpty, let command = rest.first else { return arguments }
        // A command with subcommands of its own (bundle, acl, repos) takes them after its name.
        var head = [command]
        rest.removeFirst()
        if ["bundle", "acl", "bench", "repos"].contains(command), let sub = rest.first, !sub.hasPrefix("-") {
            head.append(sub)
            rest.removeFirst()
        }
        return head + moved + rest
    }
}
