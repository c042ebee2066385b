import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct Repack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite repositories into one pack each, with commits stored as deltas against their parents.",
        discussion: """
            Commits are grouped by key and compressed in LZ4 blocks primed with a per-pack dictionary. \
            The new pack is written to a temporary file, fsynced and renamed; old packs are removed only afterwards, \
            so an interrupted repack loses nothing.
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "Repositories to repack (default: all).") var repos: [String] = []
    @Option(help: "Longest delta chain (0 stores every commit whole).") var depth = 50
    @Flag(help: "Print a JSON array, one object per repository.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let reports = try store.repack(repos, depth: depth)
            Output.warn(store.takeWarnings())
            if json {
                Output.json(.array(reports.map { r in
                    .object([
                        ("repository", .string(r.repository)), ("commits", .int(Int64(r.commits))),
                        ("deltas", .int(Int64(r.deltas))), ("longest_chain", .int(Int64(r.longestChain))),
                        ("pack_bytes", .int(Int64(r.packBytes))), ("packs_removed", .int(Int64(r.packsRemoved))),
                    ])
                }))
                return
            }
            for r in reports {
                print("\(r.repository): \(r.commits) commits, \(r.deltas) deltas (longest chain \(r.longestChain)), "
                      + "pack \(Stats.size(UInt64(r.packBytes))), replaced \(r.packsRemoved) packs")
            }
        }
    }
}

struct Upgrade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move a store to the current format (3), then repack it.",
        discussion: """
            Format 2 drops the signature of each commit that a later commit by the same author covers: an id hashes \
            its parents' ids, so that later signature vouches for it (docs/format.md §Covered signatures). \
            Format 3 also writes pack indexes that hold an 8-byte id prefix per commit and checkpoints that name \
            each head's pack entry instead of copying it (docs/format.md §Store formats). \
            The new FORMAT file is written atomically under the write lock, then every repository is repacked. \
            A store already in format 3 is left as it is. Builds that do not know format 3 no longer open the store.

            Example: trellis upgrade --store ~/notes/.trellis
            """)

    @OptionGroup var options: StoreOptions
    @Flag(help: "Print a JSON object: the format before and after.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let before = try store.upgrade()
            Output.warn(store.takeWarnings())
            let after = store.format
            if json {
                Output.json(.object([("format_before", .int(Int64(before))), ("format", .int(Int64(after)))]))
            } else if before == after {
                print("the store is already in format \(after)")
            } else {
                print("upgraded the store from format \(before) to format \(after) and repacked it")
            }
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show commits, records, bytes on disk, raw bytes, compression ratio and delta chains.",
        discussion: "Reads every pack and log of the repositories it reports on.")

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository (default: all).") var repo: String?
    @Flag(help: "Print a JSON array, one object per repository.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            var names = try store.repositoryNames()
            if let repo { names = [try store.existingRepository(repo).name] }
            var all: [RepositoryStats] = []
            for name in names { all.append(try store.stats(name)) }
            if json {
                Output.json(.array(all.map { s in
                    .object([
                        ("repository", .string(s.repository)), ("commits", .int(Int64(s.commits))),
                        ("records", .int(Int64(s.records))), ("live_records", .int(Int64(s.liveRecords))),
                        ("packs", .int(Int64(s.packs))), ("packed_commits", .int(Int64(s.packedCommits))),
                        ("log_commits", .int(Int64(s.logCommits))), ("signatures", .int(Int64(s.signatures))),
                        ("bytes_on_disk", .int(Int64(s.bytesOnDisk))), ("pack_bytes", .int(Int64(s.packBytes))),
                        ("index_bytes", .int(Int64(s.indexBytes))), ("checkpoint_bytes", .int(Int64(s.checkpointBytes))),
                        ("log_bytes", .int(Int64(s.logBytes))),
                        ("raw_bytes", .int(Int64(s.rawBytes))), ("compression_ratio", .double(s.compressionRatio)),
                        ("deltas", .int(Int64(s.deltas))), ("longest_chain", .int(Int64(s.longestChain))),
                        ("mean_chain", .double(s.meanChain)),
                    ])
                }))
                return
            }
            for s in all {
                print("""
                    \(s.repository)
                      commits:        \(s.commits) (\(s.packedCommits) in \(s.packs) packs, \(s.logCommits) in the log)
                      records:        \(s.records) (\(s.liveRecords) not deleted)
                      signatures:     \(s.signatures) (the other commits are merges, or covered by a later commit of their author)
                      bytes on disk:  \(Stats.size(s.bytesOnDisk))
                        packs \(Stats.size(s.packBytes)), indexes \(Stats.size(s.indexBytes)), checkpoint \(Stats.size(s.checkpointBytes)), log \(Stats.size(s.logBytes))
                      raw bytes:      \(Stats.size(s.rawBytes))
                      compression:    \(String(format: "%.2f", s.compressionRatio))x
                      delta chains:   \(s.deltas) deltas, longest \(s.longestChain), mean \(String(format: "%.2f", s.meanChain))
                    """)
            }
        }
    }

    static func size(_ bytes: UInt64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var v = Double(bytes) / 1024
        var i = 0
        while v >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        return String(format: "%.1f %@ (%llu bytes)", v, units[i], bytes)
    }
}
