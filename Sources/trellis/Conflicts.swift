import ArgumentParser
import Trellis
import TrellisCore

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the conflicts that merges resolved (field, rule, base, ours, theirs and winner), or with --pending the records that still have several heads.",
        discussion: """
            Ours is the older side of a merge and theirs the newer (by hybrid logical clock, then id); docs/merge.md gives the rules. 'trellis resolve' overrides a resolution.

            Examples:
              trellis conflicts tasks
              trellis conflicts tasks --pending --json
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var display: DisplayOptions
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "Only this record's conflicts.") var key: String?
    @Flag(help: "List records with several heads (not yet merged) instead.") var pending = false
    @Flag(help: "Print a JSON array of merges with their conflicts (with --pending: of records with their heads).") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let names = try DisplayNames(store)
            let repository = try store.existingRepository(repo)
            if let key { _ = try repository.heads(key) }  // unknown key: a clear error
            let out = display.printer()
            if pending {
                let records = try repository.recordsWithSeveralHeads().filter { key == nil || $0.key == key }
                if json {
                    return Output.json(.array(records.map { r in
                        .object([("key", .string(r.key)), ("heads", .array(r.heads.map { .object(Output.info($0, names: names)) }))])
                    }))
                }
                for r in records {
                    out.line("\(r.key): \(r.heads.count) heads")
                    for h in r.heads { out.line("    \(out.paint(h.id.short, .yellow)) \(names.describe(h.author)) \(Output.time(h.timestamp))\(h.kind.deletes ? " (deleted)" : "")") }
                }
                return out.finish()
            }
            let merges = try repository.conflicts(key)
            if json {
                return Output.json(.array(merges.map { m in
                    .object(Output.info(m.merge, names: names) + [
                        ("sides", .array(sideAuthors(m, store, names))),
                        ("conflicts", .array(m.conflicts.map(Output.conflict))),
                    ])
                }))
            }
            for m in merges {
                let sides = m.merge.parents.compactMap { p in (try? store.info(p)).map { "\(p.short) by \(names.describe($0.author))" } }
                out.line(out.paint("merge \(m.merge.id.short)", .yellow) + " of \(m.merge.key): " + sides.joined(separator: ", "))
                for c in m.conflicts { Conflicts.describe(c, out) }
            }
            out.finish()
        }
    }

    private func sideAuthors(_ m: ResolvedMerge, _ store: Store, _ names: DisplayNames) -> [JSON] {
        m.merge.parents.map { p in
            let author = (try? store.info(p))?.author
            return .object([("parent", .string(p.hex)), ("author", author.map { .string(Hex.encode($0.bytes)) } ?? .null),
                            ("author_name", names.name(author).map(JSON.string) ?? .null)])
        }
    }

    static func describe(_ c: MergeConflict, _ out: Printer) {
        let show = { (v: Value?) in v.map { ValueJSON.text($0) } ?? "(absent)" }
        out.line("  \(c.pathString) [\(c.rule.rawValue)]")
        out.line("    base:   \(show(c.base))")
        out.line("    ours:   \(show(c.ours))")
        out.line("    theirs: \(show(c.theirs))")
        out.line("    winner: \(show(c.winner))")
    }
}
