import ArgumentParser
import Trellis
import TrellisCore

struct Repos: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the store's repositories.")

    @OptionGroup var options: StoreOptions
    @Flag(help: "Print a JSON array.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let names = try options.open().repositoryNames()
            if json { Output.json(Output.strings(names)) } else { names.forEach { print($0) } }
        }
    }
}

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the live (not deleted) keys of a repository.")

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository.") var repo: String
    @Flag(help: "Print a JSON array.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let keys = try options.open().existingRepository(repo).keys()
            if json { Output.json(Output.strings(keys)) } else { keys.forEach { print($0) } }
        }
    }
}

struct Heads: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a record's heads, newest first: more than one after concurrent edits.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var record: RecordArguments
    @Flag(help: "Print a JSON array of commits.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let heads = try options.open().repository(record.repo).heads(record.key)
            if json {
                Output.json(.array(heads.map { .object(Output.info($0)) }))
            } else {
                for h in heads { print("\(h.id.hex) \(Output.time(h.timestamp))\(h.kind == .delete ? " (deleted)" : "")") }
            }
        }
    }
}
