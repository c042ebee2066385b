import ArgumentParser
import Foundation
import Trellis

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
        abstract: "Print the store's Ed25519 public key in hex: the author of every commit made here.")

    @OptionGroup var options: StoreOptions

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            print(Hex.encode(try options.open().identity.bytes))
        }
    }
}
