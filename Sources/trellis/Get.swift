import ArgumentParser
import Trellis
import TrellisCore

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a record's document as JSON (indented; compact with --json).",
        discussion: "With several heads (concurrent edits not yet merged), this shows the newest head.")

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "The record's key.") var key: String
    @Flag(help: "Print compact JSON on one line, for scripts.") var json = false
    @Option(help: ArgumentHelp("Show the version at this commit (id or unique prefix).", valueName: "COMMIT")) var at: String?

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let repository = try store.repository(repo)
            let document: Document?
            if let at {
                document = try repository.get(key, at: try store.resolve(at))
            } else {
                _ = try repository.heads(key)  // unknown key: a clear error rather than "deleted"
                document = try repository.get(key)
            }
            guard let document else {
                throw TrellisError(.notFound, "'\(key)' in repository '\(repo)' is deleted\(at.map { " at \($0)" } ?? "")")
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
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "The record's key.") var key: String

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            print(try options.open().repository(repo).delete(key).hex)
        }
    }
}
