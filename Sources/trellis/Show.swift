import ArgumentParser
import Trellis
import TrellisCore

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a commit and what it changed against its newest parent; for a merge, what each side brought and the conflicts resolved.",
        discussion: """
            REV is a commit id or unique prefix; with REPO, also KEY~N or a record key (its newest head).

            Examples:
              trellis show 3f2a9c
              trellis show tasks t1~1 --json
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var display: DisplayOptions
    @Argument(help: "[REPO] REV") var words: [String]
    @Flag(help: "Print a JSON object.") var json = false

    func validate() throws {
        guard (1...2).contains(words.count) else { throw ValidationError("give REV, or REPO and REV") }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let names = try DisplayNames(store)
            let repository: Repository
            let id: CommitID
            if words.count == 2 {
                repository = try store.existingRepository(words[0])
                guard let c = try repository.point(try Revision(words[1])).commit else {
                    throw TrellisError(.invalidArgument, "'\(words[1])' is a time, not a commit: show takes a commit id, a record key or KEY~N")
                }
                id = c.id
            } else {
                id = try store.resolve(words[0])
                repository = try store.repository(try store.info(id).repository)
            }
            let d = try repository.show(id)
            if json { return Output.json(Show.json(d, names: names)) }
            let out = display.printer()
            let c = d.commit
            out.line(out.paint("commit \(c.id.hex)", .yellow))
            if !c.parents.isEmpty { out.line((c.parents.count > 1 ? "Merge:   " : "Parent:  ") + c.parents.map(\.short).joined(separator: " ")) }
            out.line("Author:  \(names.describe(c.author))")
            out.line("Date:    \(Output.time(c.timestamp))")
            out.line("Record:  \(c.repository)/\(c.key)")
            out.line("")
            out.line("    \(Output.summary(c, d.changes))")
            out.line("")
            out.line(out.paint("diff \(d.parent?.short ?? "(none)")..\(c.id.short)", .bold))
            if d.changes.isEmpty { out.line("(no field changes)") }
            for change in d.changes { out.line(Output.describe(change, out)) }
            for side in d.sides {
                out.line("")
                out.line(out.paint("side \(side.parent.id.short)", .bold) + " by \(names.describe(side.parent.author)) at \(Output.time(side.parent.timestamp)), since the merge base:")
                if side.changes.isEmpty { out.line("(no field changes)") }
                for change in side.changes { out.line(Output.describe(change, out)) }
            }
            if !d.conflicts.isEmpty {
                out.line("")
                out.line(out.paint("conflicts resolved:", .bold))
                for k in d.conflicts { Conflicts.describe(k, out) }
            }
            out.finish()
        }
    }

    static func json(_ d: CommitDetail, names: DisplayNames) -> JSON {
        .object(Output.info(d.commit, names: names) + [
            ("summary", .string(Output.summary(d.commit, d.changes))),
            ("against", d.parent.map { .string($0.hex) } ?? .null),
            ("changes", .array(d.changes.map(Output.change))),
            ("sides", .array(d.sides.map { s in
                .object([("parent", .string(s.parent.id.hex)), ("author", s.parent.author.map { .string(Hex.encode($0.bytes)) } ?? .null),
                         ("author_name", names.name(s.parent.author).map(JSON.string) ?? .null),
                         ("changes", .array(s.changes.map(Output.change)))])
            })),
            ("conflicts", .array(d.conflicts.map(Output.conflict))),
        ])
    }
}

struct BlameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blame",
        abstract: "Show who last set each field of a record, and each line of its text fields.",
        discussion: """
            For every leaf field path (nested fields by dots) the commit, author and time that last set its value, following merges to the side whose value won. A text field gets one row per line. Several heads are blamed as their merge.

            Examples:
              trellis blame tasks t1
              trellis blame tasks t1 notes --json
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var display: DisplayOptions
    @OptionGroup var record: RecordArguments
    @Argument(help: "Only this field path, or the fields inside it.") var field: String?
    @Flag(help: "Print a JSON array.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let names = try DisplayNames(store)
            let path = field.map { $0.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
            let entries = try store.existingRepository(record.repo).blame(record.key, field: path)
            if json {
                return Output.json(.array(entries.map { e in
                    .object([("path", Output.strings(e.path)), ("field", .string(e.pathString)),
                             ("line", e.line.map { .int(Int64($0)) } ?? .null), ("value", ValueJSON.json(e.value))]
                            + Output.info(e.commit, names: names).filter { ["id", "kind", "time", "logical", "author", "author_name"].contains($0.0) }
                            .map { ($0.0 == "id" ? "commit" : $0.0, $0.1) })
                }))
            }
            let out = display.printer()
            let who = entries.map { names.short($0.commit.author) }
            let width = who.map(\.count).max() ?? 0
            for (e, author) in zip(entries, who) {
                let head = out.paint(e.commit.id.short, .yellow) + " " + author.padding(toLength: width, withPad: " ", startingAt: 0)
                    + " " + Output.time(e.commit.timestamp).prefix(19) + " "
                if let line = e.line {
                    let text = String(line.description.count < 4 ? String(repeating: " ", count: 4 - line.description.count) : "") + "\(line)"
                    var body = ""
                    if case .string(let s) = e.value { body = s.hasSuffix("\n") ? String(s.dropLast()) : s }
                    out.line(head + "\(e.pathString):\(text) \(body)")
                } else {
                    out.line(head + "\(e.pathString) = \(ValueJSON.text(e.value))")
                }
            }
            out.finish()
        }
    }
}
