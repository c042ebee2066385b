import ArgumentParser
import Trellis

@main
struct TrellisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trellis",
        abstract: "A commit-graph database of versioned, signed records.",
        discussion: """
            The store is found via --store DIR, then $TRELLIS_STORE, then the nearest .trellis directory upwards from the current directory. Writers wait up to $TRELLIS_LOCK_TIMEOUT seconds (default 10) for another writer. $TRELLIS_DURABILITY (full, batched or none; default full) decides when a write is acknowledged, and $TRELLIS_SEAL_BYTES (default 16777216) when a repository's log is sealed into a pack.
            """,
        subcommands: [
            Init.self, Identity.self, Put.self, Get.self, Remove.self, Repos.self, Keys.self, Heads.self,
            Log.self, Diff.self, Cat.self, Conflicts.self, Merge.self, MergeFile.self, Import.self, Export.self, FsckCommand.self, Repack.self, Stats.self, SyncCommand.self, BundleCommand.self, Serve.self, Watch.self, AccessCommand.self, Bench.self,
        ]
    )
}
