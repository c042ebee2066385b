import ArgumentParser
import Trellis
import TrellisCore

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a record's document as JSON (indented; compact with --json).",
        discussion: "With several heads (concurrent edits not yet merged), this shows their merge, computed in memory: reads never write. 'trellis merge' or the next write stores the merge commit.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var record: RecordArguments
    @Flag(help: "Print compact JSON on one line, for scripts.") var json = false
    @Option(help: ArgumentHelp("Show the version at this commit (id or unique prefix).", valueName: "COMMIT")) var at: String?

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let repository = try store.repository(record.repo)
            let document: Document?
            if let at {
                document = try repository.get(record.key, at: try store.resolve(at))
            } else {
                _ = try repository.heads(record.key)  // unknown key: a clear error rather than "deleted"
                document = try repository.get(record.key)
            }
            guard let document else {
                throw TrellisError(.notFound, "'\(record.key)' in repository '\(record.repo)' is deleted\(at.map { " at \($0)" } ?? "")")
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
