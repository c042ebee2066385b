import ArgumentParser
import Trellis
import TrellisCore

struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check the whole store: checksums, ids, signatures, parents, and merges by recomputation.",
        discussion: """
            Without --repair it changes nothing: it reports each damaged object by file offset or commit id and exits 1 if there is any. \
            With --repair it first rewrites every intact commit into a fresh pack, index and checkpoint and moves damaged files aside \
            (as *.damaged-*), then checks again. Files left by interrupted writes (temporary files, an index without its pack) \
            are listed as leftovers; they are not damage, and the next write (or --repair) removes them.
            """)

    @OptionGroup var options: StoreOptions
    @Flag(help: "Print a JSON object.") var json = false
    @Flag(help: "Rebuild indexes and checkpoints and move damaged files aside, keeping every intact commit.") var repair = false

    func run() throws {
        var clean = true
        try reportingErrors { () throws(TrellisError) in
            let path = try options.locate()
            var actions: [String] = []
            if repair {
                actions = try Store.repair(path, lockTimeout: options.lockTimeout)
                if !json { for a in actions { print(a) } }
            }
            let report = try Store.fsck(path)
            clean = report.isClean
            if json {
                Output.json(.object([
                    ("repositories", .int(Int64(report.repositories))), ("frames", .int(Int64(report.frames))),
                    ("packs", .int(Int64(report.packs))), ("commits", .int(Int64(report.commits))),
                    ("problems", Output.strings(report.problems)), ("leftovers", Output.strings(report.leftovers)),
                    ("repairs", Output.strings(actions)),
                ]))
            } else {
                for p in report.problems { print(p) }
                for l in report.leftovers { print("\(l): left by an interrupted write; the next write removes it") }
                print("checked \(report.commits) commits in \(report.packs) packs and \(report.frames) log frames of \(report.repositories) repositories: "
                      + (report.isClean ? "ok" : "\(report.problems.count) problems"))
            }
        }
        if !clean { throw ExitCode(1) }
    }
}
