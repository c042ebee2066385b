import ArgumentParser
import Trellis
import TrellisCore

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what changed: in one record, or in every record of a repository between two revisions.",
        discussion: """
            diff REPO KEY [FROM [TO]]: one record's field diff. With no revisions, its last change (newest head against its newest parent); with FROM, FROM against the newest head.
            diff REPO FROM [TO]: every record added, changed or deleted between two revisions (TO defaults to now).
            A revision is a commit id or prefix, a time (2026-11-30, 2026-11-30T12:00Z, yesterday, 2h, 3d) or KEY~N (docs/history.md). When the first word is both a record key and a revision, it is the key. Text fields get a line diff.

            Examples:
              trellis diff tasks t1
              trellis diff tasks yesterday --stat
              trellis diff tasks 2026-11-30 2026-12-01 --json
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var display: DisplayOptions
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "KEY [FROM [TO]], or FROM [TO] for the whole repository.") var words: [String] = []
    @Flag(help: "Only count what changed: records and fields.") var stat = false
    @Flag(help: "Print a JSON object.") var json = false

    func validate() throws {
        guard (1...3).contains(words.count) else { throw ValidationError("give KEY [FROM [TO]] or FROM [TO]") }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let repository = try options.open().existingRepository(repo)
            let out = display.printer()
            if (try? repository.heads(words[0])) != nil {
                try recordDiff(repository, out)
            } else {
                // A word that is not a revision either was most likely meant as a key.
                guard words.count <= 2, try Revision(words[0]) != .ancestor(of: words[0], steps: 0) else {
                    throw TrellisError(.notFound, "unknown key '\(words[0])' in repository '\(repo)'")
                }
                try repositoryDiff(repository, out)
            }
            out.finish()
        }
    }

    private func recordDiff(_ repository: Repository, _ out: Printer) throws(TrellisError) {
        let revisions = try words.dropFirst().map { s throws(TrellisError) in try Revision(s) }
        let d = try repository.diff(words[0], from: revisions.first, to: revisions.count > 1 ? revisions[1] : nil)
        if json {
            return Output.json(.object([
                ("from", d.from.map { .string($0.hex) } ?? .null), ("to", .string(d.to.hex)),
                ("changes", .array(d.changes.map(Output.change))), ("stat", Output.stat(d.changes)),
            ]))
        }
        out.line(out.paint("diff \(d.from?.short ?? "(none)")..\(d.to.short)", .bold))
        if stat { return Output.statLines(d.changes, out).forEach(out.line) }
        if d.changes.isEmpty { out.line("(no field changes)") }
        for c in d.changes { out.line(Output.describe(c, out)) }
    }

    private func repositoryDiff(_ repository: Repository, _ out: Printer) throws(TrellisError) {
        let from = try Revision(words[0])
        let to = try words.count > 1 ? Revision(words[1]) : nil
        let records = try repository.diff(from: from, to: to)
        let fields = records.reduce(0) { $0 + $1.changes.count }
        let count = { (k: RecordChange.Kind) in records.filter { $0.kind == k }.count }
        if json {
            let point = { (rev: Revision?, word: String?) throws(TrellisError) -> JSON in
                guard let rev, let word else { return .null }
                let p = try repository.point(rev)
                return .object([("revision", .string(word)), ("time", .string(Output.time(p.bound))),
                                ("commit", p.commit.map { .string($0.id.hex) } ?? .null)])
            }
            return Output.json(.object([
                ("from", try point(from, words[0])), ("to", try point(to, words.count > 1 ? words[1] : nil)),
                ("records", .array(records.map { r in
                    .object([("key", .string(r.key)), ("kind", .string(r.kind.rawValue)),
                             ("from_heads", Output.strings(r.fromHeads.map(\.hex))), ("to_heads", Output.strings(r.toHeads.map(\.hex))),
                             ("changes", .array(r.changes.map(Output.change))), ("stat", Output.stat(r.changes))])
                })),
                ("stat", .object([("records", .int(Int64(records.count))), ("added", .int(Int64(count(.added)))),
                                  ("changed", .int(Int64(count(.changed)))), ("deleted", .int(Int64(count(.deleted)))),
                                  ("fields", .int(Int64(fields)))])),
            ]))
        }
        let width = records.map(\.key.count).max() ?? 0
        for r in records {
            if stat {
                let s = r.changes
                let n = { (k: FieldChange.Kind) in s.filter { $0.kind == k }.count }
                out.line(" \(r.key.padding(toLength: width, withPad: " ", startingAt: 0)) | \(r.kind.rawValue), \(s.count) field\(s.count == 1 ? "" : "s") (+\(n(.added)) ~\(n(.changed)) -\(n(.removed)))")
                continue
            }
            let style: Printer.Style = switch r.kind { case .added: .green; case .deleted: .red; case .changed: .cyan }
            out.line(out.paint("\(r.kind.rawValue) \(r.key)", style))
            for c in r.changes { out.line("    " + Output.describe(c, out).split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n    ")) }
        }
        out.line(" \(records.count) record\(records.count == 1 ? "" : "s") changed (\(count(.added)) added, \(count(.changed)) changed, \(count(.deleted)) deleted), \(fields) field\(fields == 1 ? "" : "s") changed")
    }
}
