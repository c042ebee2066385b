import ArgumentParser
import Trellis
import TrellisCore

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the history of a repository or of one record, newest first.",
        discussion: """
            Each entry shows the id, parents, author, time and a summary of the fields changed against the newest parent: +added ~changed -removed. Times and revisions: docs/history.md.

            Examples:
              trellis log tasks --since yesterday --author ann
              trellis log tasks t1 -p --field status
              trellis log tasks --graph --oneline
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var display: DisplayOptions
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "Only this record's history.") var key: String?
    @Flag(help: "Print a JSON array.") var json = false
    @Option(name: .short, help: "Show at most N commits.") var n: Int?
    @Option(help: ArgumentHelp("Only commits after this revision: a time (2026-11-30, yesterday, 2h), a commit or KEY~N.", valueName: "REV"))
    var since: String?
    @Option(help: ArgumentHelp("Only commits at or before this revision.", valueName: "REV")) var until: String?
    @Option(help: ArgumentHelp("Only commits by this author: a display name or a key's hex prefix.", valueName: "WHO")) var author: String?
    @Option(help: ArgumentHelp("Only commits that changed this field path (dots for nested fields).", valueName: "PATH")) var field: String?
    @Flag(name: [.customShort("p"), .customLong("patch")], help: "Show each commit's field diff.") var patch = false
    @Flag(help: "Show how many fields each commit added, changed and removed.") var stat = false
    @Flag(help: "One line per commit: short id, record, summary.") var oneline = false
    @Flag(help: "Oldest first (after -n picks the newest).") var reverse = false
    @Flag(help: "Draw the commit graph beside the log, as git log --graph.") var graph = false

    func validate() throws {
        if let n, n < 0 { throw ValidationError("-n needs a number of commits, 0 or more") }
        if graph && reverse { throw ValidationError("--graph and --reverse cannot be combined") }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let repository = try store.existingRepository(repo)
            let names = try DisplayNames(store)
            var query = LogQuery(key: key, limit: n)
            query.since = try since.map { s throws(TrellisError) in try Revision(s) }
            query.until = try until.map { s throws(TrellisError) in try Revision(s) }
            query.author = try author.map { s throws(TrellisError) in try names.matcher(s) }
            query.field = field.map { $0.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
            var commits = try repository.log(query)
            if reverse { commits.reverse() }
            let out = display.printer()
            if json {
                var entries: [JSON] = []
                for c in commits {
                    let changes = try repository.changes(in: c.id)
                    entries.append(.object(Output.info(c, names: names) + [
                        ("summary", .string(Output.summary(c, changes))), ("changes", .array(changes.map(Output.change))),
                        ("stat", Output.stat(changes)),
                    ]))
                }
                Output.json(.array(entries))
                return
            }
            let lanes = graph ? GraphLanes() : nil
            for (number, c) in commits.enumerated() {
                let changes = try repository.changes(in: c.id)
                var lines: [String] = []
                if oneline {
                    lines.append(out.paint(c.id.short, .yellow) + " " + c.key + " " + Output.summary(c, changes))
                } else {
                    if number > 0 && lanes == nil { lines.append("") }
                    lines.append(out.paint("commit \(c.id.hex)", .yellow))
                    if !c.parents.isEmpty { lines.append((c.parents.count > 1 ? "Merge:   " : "Parent:  ") + c.parents.map(\.short).joined(separator: " ")) }
                    lines.append("Author:  \(names.describe(c.author))")
                    lines.append("Date:    \(Output.time(c.timestamp))")
                    lines.append("Record:  \(c.key)")
                    lines.append("")
                    lines.append("    \(Output.summary(c, changes))")
                }
                if stat { lines.append(contentsOf: Output.statLines(changes, out)) }
                if patch { lines.append(contentsOf: changes.flatMap { Output.describe($0, out).split(separator: "\n").map { "    " + $0 } }) }
                if let lanes {
                    lines = lanes.draw(c, lines: lines, out: out)
                    if !oneline, number < commits.count - 1 { lines.append(lanes.padding(out)) }
                }
                lines.forEach(out.line)
            }
            out.finish()
        }
    }
}
