import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Exchange commits with another store, both ways, until both hold the same commits.",
        discussion: """
            PATH is another store's directory (or a directory holding .trellis). Each side sends a Bloom filter \
            of the commits added since its last sync with the other, and receives what the filter lacks. Every \
            commit received is verified (id, signature, merge by recomputation) before it is stored. \
            See docs/sync.md.
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "The other store's directory.") var path: String
    @Argument(help: "Repositories to sync (default: all).") var repos: [String] = []
    @Flag(help: "Print rounds, commits and bytes each way as JSON.") var json = false
    @Option(help: ArgumentHelp("Write every message to DIR as NNN-sent.bin and NNN-received.bin (for debugging).", valueName: "DIR"))
    var trace: String?

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let other = StoreOptions.storeDirectory(path)
            guard FileManager.default.fileExists(atPath: other + "/FORMAT") else {
                throw TrellisError(.storeMissing, "no Trellis store at \(path)")
            }
            let progress = ProgressBar(total: nil, label: "syncing")
            var count = 0
            let traceDirectory = trace
            if let traceDirectory { try? FileManager.default.createDirectory(atPath: traceDirectory, withIntermediateDirectories: true) }
            let observer = Sync.Observer(
                progress: { r in progress.update(r.bytesSent + r.bytesReceived) },
                trace: traceDirectory.map { dir in { bytes, sent in
                    count += 1
                    let name = String(format: "%@/%03d-%@.bin", dir, count, sent ? "sent" : "received")
                    FileManager.default.createFile(atPath: name, contents: Data(bytes))
                } })
            let report = try store.sync(withStoreAt: other, repositories: repos, observer: observer)
            progress.finish()
            Output.warn(store.takeWarnings())
            if json {
                Output.json(.object([
                    ("rounds", .int(Int64(report.rounds))), ("commits_sent", .int(Int64(report.commitsSent))),
                    ("commits_received", .int(Int64(report.commitsReceived))),
                    ("bytes_sent", .int(Int64(report.bytesSent))), ("bytes_received", .int(Int64(report.bytesReceived))),
                ]))
                return
            }
            print("synced with \(path) in \(report.rounds) round trip\(report.rounds == 1 ? "" : "s"): "
                  + "sent \(report.commitsSent) commits (\(report.bytesSent) bytes), "
                  + "received \(report.commitsReceived) commits (\(report.bytesReceived) bytes)")
        }
    }
}

struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Carry commits between stores offline, in a file.",
        subcommands: [Create.self, Apply.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every commit of the named repositories (default: all) into a bundle file.",
            discussion: "The file is written atomically and ends with a BLAKE2b-256 checksum (docs/sync.md §Bundles).")

        @OptionGroup var options: StoreOptions
        @Argument(help: "The bundle file to write.") var file: String
        @Argument(help: "Repositories to include (default: all).") var repos: [String] = []
        @Flag(help: "Print what was written as JSON.") var json = false

        func run() throws {
            try reportingErrors { () throws(TrellisError) in
                let store = try options.open()
                let report = try store.createBundle(at: file, repositories: repos)
                BundleCommand.print(report, verb: "wrote", file: file, json: json)
            }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify and store the commits of a bundle file.",
            discussion: """
                The checksum is checked before anything is stored. Each batch of commits is verified (ids, \
                signatures, merges by recomputation) and stored whole or not at all.
                """)

        @OptionGroup var options: StoreOptions
        @Argument(help: "The bundle file to read.") var file: String
        @Flag(help: "Print what was applied as JSON.") var json = false

        func run() throws {
            try reportingErrors { () throws(TrellisError) in
                let store = try options.open()
                let report = try store.applyBundle(at: file)
                BundleCommand.print(report, verb: "applied", file: file, json: json)
            }
        }
    }

    static func print(_ r: SyncBundle.Report, verb: String, file: String, json: Bool) {
        if json {
            Output.json(.object([
                ("commits", .int(Int64(r.commits))), ("bytes", .int(Int64(r.bytes))),
                ("repositories", Output.strings(r.repositories)),
            ]))
            return
        }
        Swift.print("\(verb) \(file): \(r.commits) commits, \(r.bytes) bytes, repositories: "
                    + (r.repositories.isEmpty ? "(none)" : r.repositories.joined(separator: ", ")))
    }
}
