import ArgumentParser
import Trellis
import TrellisCore

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a record's document as JSON (indented; compact with --json).",
        discussion: """
            With several heads (concurrent edits not yet merged), this shows their merge, computed in memory: reads never write. 'trellis merge' or the next write stores the merge commit. With --at, the record as it stood at that revision, as Dolt's AS OF.

            Examples:
              trellis get tasks t1
              trellis get tasks t1 --at yesterday
              trellis get tasks t1 --at t1~2 --json
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var record: RecordArguments
    @Flag(help: "Print compact JSON on one line, for scripts.") var json = false
    @Option(help: ArgumentHelp("Show the record as of a revision: a commit of it, a time (2026-11-30, yesterday, 2h) or KEY~N.", valueName: "REV"))
    var at: String?

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let repository = try store.repository(record.repo)
            let document: Document?
            if let at {
                document = try repository.get(record.key, asOf: try Revision(at))
            } else {
                _ = try repository.heads(record.key)  // unknown key: a clear error rather than "deleted"
                document = try repository.get(record.key)
            }
            guard let document else {
                let when = at.map { " at \($0)" } ?? ""
                throw TrellisError(.notFound, "'\(record.key)' in repository '\(record.repo)' is deleted\(when), or did not exist yet")
            }
            print(ValueJSON.text(document, pretty: !json))
        }
    }
}

struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete a record by writing a tombstone commit; print its id. History stays readable.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var record: RecordArguments

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            print(try options.open().repository(record.repo).delete(record.key).hex)
        }
    }
}
