import ArgumentParser
import Trellis
import TrellisCore

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the conflicts that merges resolved: field, rule, base, ours, theirs and winner.",
        discussion: "Ours is the older side of a merge and theirs the newer (by hybrid logical clock, then id); docs/merge.md gives the rules.")

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "Only this record's conflicts.") var key: String?
    @Flag(help: "Print a JSON array of merges with their conflicts.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let repository = try options.open().repository(repo)
            if let key { _ = try repository.heads(key) }  // unknown key: a clear error
            let merges = try repository.conflicts(key)
            if json {
                Output.json(.array(merges.map { m in
                    .object(Output.info(m.merge) + [("conflicts", .array(m.conflicts.map(Output.conflict)))])
                }))
                return
            }
            let show = { (v: Value?) in v.map { ValueJSON.text($0) } ?? "(absent)" }
            for m in merges {
                for c in m.conflicts {
                    print("\(m.merge.key) \(c.pathString) [\(c.rule.rawValue)] merge \(m.merge.id.short)")
                    print("    base:   \(show(c.base))")
                    print("    ours:   \(show(c.ours))")
                    print("    theirs: \(show(c.theirs))")
                    print("    winner: \(show(c.winner))")
                }
            }
        }
    }
}
