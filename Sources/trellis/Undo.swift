import ArgumentParser
import Trellis
import TrellisCore

struct Revert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new commit that undoes a commit's changes, on top of the record's current version.",
        discussion: """
            A three-way merge (docs/history.md §Revert): later edits to other fields stay; a field edited again since keeps the later edit, and the command says so. Reverting a record's first version deletes it; reverting a deletion restores it.

            Examples:
              trellis revert 3f2a9c
              trellis revert 3f2a9c --json
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "The commit to undo: an id or unique prefix.") var commit: String
    @Flag(help: "Print the new commit and the conflicts as JSON.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let id = try store.resolve(commit)
            let result = try store.repository(try store.info(id).repository).revert(id)
            Undo.report(result, json: json)
        }
    }
}

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Override how a merge resolved a field: write a new version with the other side's value, or any value.",
        discussion: """
            --ours and --theirs take the older and newer side's value from the newest merge that resolved a conflict at PATH (or from the merge the record's heads would make now). --value sets any JSON value. PATH is a dotted field path.

            Examples:
              trellis resolve tasks t1 title --ours
              trellis resolve tasks t1 meta.points --value 8
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var record: RecordArguments
    @Argument(help: "The field path.") var path: String
    @Flag(help: "Take the older side's value.") var ours = false
    @Flag(help: "Take the newer side's value.") var theirs = false
    @Option(help: ArgumentHelp("Set this JSON value.", valueName: "JSON")) var value: String?
    @Flag(help: "Print the new commit as JSON.") var json = false

    func validate() throws {
        guard [ours, theirs, value != nil].filter({ $0 }).count == 1 else { throw ValidationError("give exactly one of --ours, --theirs or --value JSON") }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let choice: Resolution
            if ours { choice = .ours } else if theirs { choice = .theirs } else {
                choice = .value(try ValueJSON.value(from: JSONParser.parse(value ?? "null")))
            }
            let result = try options.open().repository(record.repo).resolve(record.key, path: try Put.path(path), choice)
            Undo.report(result, json: json)
        }
    }
}

enum Undo {
    static func report(_ r: UndoResult, json: Bool) {
        if json {
            return Output.json(.object(Output.info(r.commit) + [("conflicts", .array(r.conflicts.map(Output.conflict)))]))
        }
        print(r.commit.id.hex)
        for c in r.conflicts {
            Output.warn(["\(c.pathString) was changed again since: kept \(c.winner.map { ValueJSON.text($0) } ?? "(absent)")"])
        }
    }
}
