import ArgumentParser
import Trellis
import TrellisCore

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the history of a repository or of one record, newest first.",
        discussion: "Each entry shows the id, parents, author, time and a summary of the fields changed: +added ~changed -removed.")

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "Only this record's history.") var key: String?
    @Flag(help: "Print a JSON array.") var json = false
    @Option(name: .short, help: "Show at most N commits.") var n: Int?

    func validate() throws {
        if let n, n < 0 { throw ValidationError("-n needs a number of commits, 0 or more") }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let repository = try options.open().repository(repo)
            let commits = try repository.history(key, limit: n)
            var entries: [JSON] = []
            for (number, c) in commits.enumerated() {
                let changes = try repository.changes(in: c.id)
                var summary = c.kind.deletes ? "deleted" : DocumentDiff.summary(changes)
                if c.kind.isMerge { summary = "merge of \(c.parents.count) heads: " + summary }
                if json {
                    entries.append(.object(Output.info(c) + [
                        ("summary", .string(summary)), ("changes", .array(changes.map(Output.change))),
                    ]))
                    continue
                }
                if number > 0 { print("") }
                print("commit \(c.id.hex)")
                if !c.parents.isEmpty { print("Parents: \(c.parents.map(\.short).joined(separator: " "))") }
                print("Author:  \(c.author.map { Hex.encode($0.bytes) } ?? "(none: merge)")")
                print("Date:    \(Output.time(c.timestamp))")
                print("Record:  \(c.key)")
                print("    \(summary)")
            }
            if json { Output.json(.array(entries)) }
        }
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a field-level diff between two versions of a record.",
        discussion: """
            With no commits: the last change (newest head against its parent). With FROM: FROM against the newest head. With FROM and TO: between those. Text fields get a line diff.
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var record: RecordArguments
    @Argument(help: "The older version (commit id or unique prefix).") var from: String?
    @Argument(help: "The newer version (commit id or unique prefix).") var to: String?
    @Flag(help: "Print a JSON object.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let fromID = try from.map { s throws(TrellisError) in try store.resolve(s) }
            let toID = try to.map { s throws(TrellisError) in try store.resolve(s) }
            let d = try store.repository(record.repo).diff(record.key, from: fromID, to: toID)
            if json {
                Output.json(.object([
                    ("from", d.from.map { .string($0.hex) } ?? .null), ("to", .string(d.to.hex)),
                    ("changes", .array(d.changes.map(Output.change))),
                ]))
                return
            }
            print("diff \(d.from?.short ?? "(none)")..\(d.to.short)")
            if d.changes.isEmpty { print("(no field changes)") }
            for c in d.changes { print(Output.describe(c)) }
        }
    }
}
