import TrellisStorage
import ArgumentParser
import Foundation
import Trellis
import TrellisCore
import TrellisClient
import TrellisServer

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Exchange commits with another store or a server, both ways, until both hold the same commits.",
        discussion: """
            PEER is another store's directory (or a directory holding .trellis), or the ws:// URL of a \
            'trellis serve' server, which checks this store's identity against its access lists. Each side \
            sends a Bloom filter of the commits added since its last sync with the other, and receives what \
            the filter lacks. Every commit received is verified (id, signature, merge by recomputation) \
            before it is stored. See docs/sync.md and docs/server.md.
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "The other store's directory, or ws://HOST:PORT.") var peer: String
    @Argument(help: "Repositories to sync (default: all, or all this identity may read on a server).") var repos: [String] = []
    @Flag(help: "Print rounds, commits and bytes each way as JSON.") var json = false
    @Option(help: ArgumentHelp("Write every message to DIR as NNN-sent.bin and NNN-received.bin (for debugging).", valueName: "DIR"))
    var trace: String?

    func run() async throws {
        try await reportingErrors { () async throws(TrellisError) in
            let store = try options.open()
            let progress = ProgressBar(total: nil, label: "syncing")
            let observer = Sync.Observer(progress: { r in progress.update(r.bytesSent + r.bytesReceived) },
                                         trace: try traceWriter())
            let report: SyncReport
            if peer.hasPrefix("ws://") || peer.hasPrefix("wss://") {
                report = try await store.sync(url: peer, repositories: repos, observer: observer)
            } else {
                let other = StoreOptions.storeDirectory(peer)
                guard FileManager.default.fileExists(atPath: other + "/FORMAT") else {
                    throw TrellisError(.storeMissing, "no Trellis store at \(peer)")
                }
                report = try store.sync(withStoreAt: other, repositories: repos, observer: observer)
            }
            progress.finish()
            Output.warn(store.takeWarnings())
            let (forked, pending) = try SyncCommand.unmerged(store, repos)
            if json {
                Output.json(.object([
                    ("records_with_several_heads", .int(Int64(forked))), ("pending_conflicts", .int(Int64(pending))),
                    ("rounds", .int(Int64(report.rounds))), ("commits_sent", .int(Int64(report.commitsSent))),
                    ("commits_received", .int(Int64(report.commitsReceived))),
                    ("bytes_sent", .int(Int64(report.bytesSent))), ("bytes_received", .int(Int64(report.bytesReceived))),
                    ("commits_withheld", .int(Int64(report.commitsWithheld))),
                ]))
                return
            }
            print("synced with \(peer) in \(report.rounds) round trip\(report.rounds == 1 ? "" : "s"): "
                  + "sent \(report.commitsSent) commits (\(report.bytesSent) bytes), "
                  + "received \(report.commitsReceived) commits (\(report.bytesReceived) bytes)")
            if forked > 0 {
                print("\(forked) record\(forked == 1 ? " has" : "s have") several heads; merging them resolves \(pending) conflict\(pending == 1 ? "" : "s") ('trellis conflicts REPO --pending', 'trellis merge')")
            }
            if report.commitsWithheld > 0 {
                print("kept \(report.commitsWithheld) local commits the server would refuse: in repositories this identity may only read, by authors who may not write there, or built on those")
            }
        }
    }

    /// How many records of the synced repositories have several heads, and how many conflicts
    /// merging them would resolve.
    static func unmerged(_ store: Store, _ repos: [String]) throws(TrellisError) -> (Int, Int) {
        var records = 0, conflicts = 0
        for name in repos.isEmpty ? try store.repositoryNames() : repos {
            guard let repository = try? store.existingRepository(name) else { continue }
            for r in try repository.recordsWithSeveralHeads() {
                records += 1
                conflicts += try repository.pendingConflicts(r.key).count
            }
        }
        return (records, conflicts)
    }

    private func traceWriter() throws(TrellisError) -> (@Sendable ([UInt8], Bool) -> Void)? {
        guard let dir = trace else { return nil }
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw TrellisError(.io, "cannot create \(dir): \(error.localizedDescription)")
        }
        let count = Locked(0)
        return { bytes, sent in
            let n = count.withLock { n in
                n += 1
                return n
            }
            let name = String(format: "%@/%03d-%@.bin", dir, n, sent ? "sent" : "received")
            _ = FileManager.default.createFile(atPath: name, contents: Data(bytes))
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
