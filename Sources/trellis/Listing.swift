import ArgumentParser
import Trellis
import TrellisCore

struct Repos: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, create or remove the store's repositories.",
        discussion: """
            Examples:
              trellis repos
              trellis repos create tasks
              trellis repos rm scratch
            """,
        subcommands: [List.self, Create.self, Remove.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the store's repositories.")

        @OptionGroup var options: StoreOptions
        @Flag(help: "Print a JSON array.") var json = false

        func run() throws {
            try reportingErrors { () throws(TrellisError) in
                let names = try options.open().repositoryNames()
                if json { Output.json(Output.strings(names)) } else { names.forEach { print($0) } }
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an empty repository, so that puts into it need no --create.")

        @OptionGroup var options: StoreOptions
        @Argument(help: "The repository's name: 1-64 letters, digits, '.', '-' or '_', not starting with '.'.") var name: String

        func run() throws {
            try reportingErrors { () throws(TrellisError) in
                try options.open().createRepository(name)
                print("created repository '\(name)'")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove a repository and its whole history from this store (stores it synced with keep theirs).")

        @OptionGroup var options: StoreOptions
        @Argument(help: "The repository.") var name: String

        func run() throws {
            try reportingErrors { () throws(TrellisError) in
                let store = try options.open()
                let commits = try store.existingRepository(name).history().count
                try store.removeRepository(name)
                print("removed repository '\(name)' and its \(commits) commit\(commits == 1 ? "" : "s")")
            }
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
