import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct Put: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new version of a record and print the new commit id.",
        discussion: """
            Give the whole document with --json or --file (use - for stdin), or change fields of the current version with assignments: name=text sets a string, name:=JSON sets any JSON value, including the wrappers {"$text": ...}, {"$set": [...]}, {"$counter": n}, {"$date": ...} and {"$bytes": ...}.

            Examples:
              trellis put tasks t1 --json '{"title": "Write docs", "done": false}'
              trellis put tasks t1 done:=true 'notes:={"$text": "line one\\n"}'
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var record: RecordArguments
    @Argument(help: "Field assignments: name=text or name:=JSON.") var assignments: [String] = []
    @Option(help: "The whole document as a JSON object.") var json: String?
    @Option(help: ArgumentHelp("Read the whole document from a file (- for stdin).", valueName: "FILE")) var file: String?
    @Option(name: .customLong("parent"), help: ArgumentHelp("Build on this commit instead of the current head (repeatable).", valueName: "ID"))
    var parents: [String] = []

    func validate() throws {
        let sources = [json != nil, file != nil, !assignments.isEmpty].filter { $0 }.count
        guard sources == 1 else {
            throw ValidationError("give exactly one of --json, --file or field assignments")
        }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let repository = try store.repository(record.repo)
            var parentIDs: [CommitID]? = nil
            if !parents.isEmpty {
                parentIDs = []
                for p in parents { parentIDs?.append(try store.resolve(p)) }
            }
            let id: CommitID
            if assignments.isEmpty {
                id = try repository.put(record.key, try readDocument(), parents: parentIDs)
            } else {
                let changes = try assignments.map(Put.parseAssignment)
                id = try repository.update(record.key, parents: parentIDs) { doc in
                    for (name, value) in changes { doc[name] = value }
                }
            }
            print(id.hex)
        }
    }

    private func readDocument() throws(TrellisError) -> Document {
        if let json { return try ValueJSON.document(fromJSON: json) }
        let path = file ?? "-"
        let data: Data
        do {
            data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TrellisError(.io, "cannot read \(path): \(error.localizedDescription)")
        }
        return try ValueJSON.document(from: JSONParser.parse(Array(data)))
    }

    static func parseAssignment(_ text: String) throws(TrellisError) -> (String, Value) {
        guard let eq = text.firstIndex(of: "=") else {
            throw TrellisError(.invalidArgument, "'\(text)' is not an assignment: use name=text or name:=JSON")
        }
        var name = String(text[..<eq])
        let raw = String(text[text.index(after: eq)...])
        let isJSON = name.hasSuffix(":")
        if isJSON { name.removeLast() }
        guard !name.isEmpty else { throw TrellisError(.invalidArgument, "'\(text)' has no field name") }
        let value: Value = isJSON ? try ValueJSON.value(from: JSONParser.parse(raw)) : .string(raw)
        var check = Document()
        check[name] = value
        try check.validate()
        return (name, value)
    }
}
