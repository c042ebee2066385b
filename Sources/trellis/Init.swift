import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a new store in DIR/.trellis, with a new Ed25519 identity key.")

    @Argument(help: "The directory to create the store in (default: the current directory).")
    var directory: String = "."

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let path = URL(fileURLWithPath: directory).standardizedFileURL.appendingPathComponent(StoreOptions.directoryName).path
            let store = try Store.create(path)
            print("Initialized empty Trellis store in \(store.path)")
            print("identity \(Hex.encode(try store.identity.bytes))")
        }
    }
}

struct Identity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the store's Ed25519 public key in hex (the author of every commit made here), or give it a display name.",
        discussion: """
            The name is a signed record of the reserved repository _identities (docs/format.md §Display names), so it travels with sync; log, show, blame, conflicts and watch show it, and --author matches it.

            Examples:
              trellis identity
              trellis identity --name "Ann Lee"
              trellis identity --list --json
            """)

    @OptionGroup var options: StoreOptions
    @Option(help: "Give this store's identity a display name.") var name: String?
    @Flag(help: "List every identity with a display name that this store knows.") var list = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let key = Hex.encode(try store.identity.bytes)
            if let name { try store.setDisplayName(name) }
            let names = try store.displayNames()
            if list {
                let sorted = names.map { (Hex.encode($0.key.bytes), $0.value) }.sorted { $0.0 < $1.0 }
                if json { return Output.json(.array(sorted.map { .object([("key", .string($0.0)), ("name", .string($0.1))]) })) }
                return sorted.forEach { print("\($0.0) \($0.1)") }
            }
            let mine = try names[store.identity]
            if json { return Output.json(.object([("key", .string(key)), ("name", mine.map(JSON.string) ?? .null)])) }
            print(mine.map { "\(key) \($0)" } ?? key)
        }
    }
}
