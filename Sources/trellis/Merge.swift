import ArgumentParser
import Trellis

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the merge commits of records with several heads: of one record, a repository, or the store.",
        discussion: """
            Reads merge several heads in memory and write nothing; this command writes the merge \
            commit (the next write to a record does too). Merge commits are deterministic: every store \
            holding the same heads writes the same bytes. Prints each merge commit written.

            Example: trellis merge tasks
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository (default: every repository).") var repo: String?
    @Argument(help: "The record's key (default: every record of the repository).") var key: String?
    @Flag(help: "Print a JSON array of the merge commits written.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            var merges: [CommitInfo] = []
            if let repo, let key {
                let repository = try store.existingRepository(repo)
                let before = try repository.heads(key)
                let head = try repository.merge(key)
                if before.count > 1 { merges.append(head) }
            } else {
                let names = if let repo { [repo] } else { try store.repositoryNames() }
                for name in names {
                    merges += try store.existingRepository(name).mergeAll()
                }
            }
            if json {
                Output.json(.array(merges.map { .object(Output.info($0)) }))
            } else if merges.isEmpty {
                print("nothing to merge: every record has one head")
            } else {
                for m in merges { print("\(m.id.hex) \(m.repository) \(m.key) merge of \(m.parents.count) heads") }
            }
        }
    }
}
