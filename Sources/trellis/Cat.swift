import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct Cat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a commit: readable, its canonical bytes (--raw) or its fields as JSON (--json).",
        discussion: "The id is the BLAKE2b-256 of the --raw bytes; the signature is Ed25519 over the 32-byte id (docs/format.md).")

    @OptionGroup var options: StoreOptions
    @Argument(help: "The commit id or a unique prefix.") var id: String
    @Flag(help: "Write the canonical encoding to stdout, byte for byte.") var raw = false
    @Flag(help: "Print the fields as JSON, with author and signature in hex.") var json = false

    func validate() throws {
        if raw && json { throw ValidationError("--raw and --json exclude each other") }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let c = try store.commit(try store.resolve(id))
            if raw {
                FileHandle.standardOutput.write(Data(c.encoded))
                return
            }
            let document = c.commit.document.map(ValueJSON.json) ?? .null
            if json {
                let fields = Output.info(try store.info(c.id))
                Output.json(.object(fields + [("signature", .string(Hex.encode(c.signature))), ("document", document)]))
                return
            }
            print("commit \(c.id.hex)")
            print("repo \(c.commit.repository)")
            print("key \(c.commit.key)")
            print("kind \(Output.kindName(c.commit.kind))")
            for p in c.commit.parents { print("parent \(p.hex)") }
            print("time \(Output.time(c.commit.timestamp))")
            print("author \(c.commit.author.map { Hex.encode($0.bytes) } ?? "(none)")")
            print("signature \(Hex.encode(c.signature))")
            print("")
            print(JSONWriter.write(document, pretty: true))
        }
    }
}
