import ArgumentParser
import Trellis
import TrellisCore

struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check the whole store: checksums, ids, signatures, parents, and merges by recomputation.",
        discussion: "Read-only: it reports each damaged object by file offset or commit id and exits 1 if there is any.")

    @OptionGroup var options: StoreOptions
    @Flag(help: "Print a JSON object.") var json = false

    func run() throws {
        var clean = true
        try reportingErrors { () throws(TrellisError) in
            let report = try Store.fsck(try options.locate())
            clean = report.isClean
            if json {
                Output.json(.object([
                    ("repositories", .int(Int64(report.repositories))), ("frames", .int(Int64(report.frames))),
                    ("commits", .int(Int64(report.commits))), ("problems", Output.strings(report.problems)),
                ]))
            } else {
                for p in report.problems { print(p) }
                print("checked \(report.commits) commits in \(report.frames) frames of \(report.repositories) repositories: "
                      + (report.isClean ? "ok" : "\(report.problems.count) problems"))
            }
        }
        if !clean { throw ExitCode(1) }
    }
}
