import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct Put: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new version of a record and print the new commit id.",
        discussion: """
            Give the whole document with --json or --file (use - for stdin), or change fields of the current version with assignments: name=text sets a string, name:=JSON sets any JSON value, including the wrappers {"$text": ...}, {"$set": [...]}, {"$counter": n}, {"$date": ...} and {"$bytes": ...}. A name with dots is a path into nested objects (meta.points:=13). name+=text and name-=text add a string to a set field or remove it (name+:=JSON and name-:=JSON for other values); --unset PATH removes a field. A write that would leave the record as it is writes no commit and says so.

            Examples:
              trellis put tasks t1 --create --json '{"title": "Write docs", "done": false}'
              trellis put tasks t1 done:=true 'notes:={"$text": "line one\\n"}'
              trellis put tasks t1 meta.points:=13 tags+=urgent --unset owner
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var record: RecordArguments
    @Argument(help: "Field edits: name=text, name:=JSON, name+=text, name-=text (names may be dotted paths).") var assignments: [String] = []
    @Option(name: .customLong("unset"), help: ArgumentHelp("Remove this field (a dotted path; repeatable).", valueName: "PATH")) var unset: [String] = []
    @Option(help: "The whole document as a JSON object.") var json: String?
    @Option(help: ArgumentHelp("Read the whole document from a file (- for stdin).", valueName: "FILE")) var file: String?
    @Flag(help: "Create the repository when it does not exist (without this, a put into an unknown repository fails).") var create = false
    @Option(name: .customLong("parent"), help: ArgumentHelp("Build on this commit instead of the current head (repeatable).", valueName: "ID"))
    var parents: [String] = []

    func validate() throws {
        let sources = [json != nil, file != nil, !assignments.isEmpty || !unset.isEmpty].filter { $0 }.count
        guard sources == 1 else {
            throw ValidationError("give exactly one of --json, --file or field edits (assignments, --unset)")
        }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            let repository = try store.repository(record.repo)
            // A typo in the repository name must not quietly start a new repository.
            if !create, !(try store.repositoryNames().contains(record.repo)) {
                throw TrellisError(.notFound, "unknown repository '\(record.repo)': add --create to make it, or run 'trellis repos create \(record.repo)'")
            }
            var parentIDs: [CommitID]? = nil
            if !parents.isEmpty {
                parentIDs = []
                for p in parents { parentIDs?.append(try store.resolve(p)) }
            }
            let edits = try assignments.map(Put.parseAssignment) + unset.map { path throws(TrellisError) in FieldEdit(path: try Put.path(path), op: .unset) }
            let apply = { @Sendable (doc: inout Document) throws(TrellisError) in for e in edits { try e.apply(to: &doc) } }
            let id: CommitID?
            if let parentIDs {
                id = edits.isEmpty && unset.isEmpty
                    ? try repository.put(record.key, try readDocument(), parents: parentIDs)
                    : try repository.update(record.key, parents: parentIDs, apply)
            } else if assignments.isEmpty && unset.isEmpty {
                let whole = try readDocument()
                id = try repository.edit(record.key) { doc in doc = whole }
            } else {
                id = try repository.edit(record.key, apply)
            }
            guard let id else {
                return print("nothing changed: '\(record.key)' already holds that, so no commit was written")
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

    static func parseAssignment(_ text: String) throws(TrellisError) -> FieldEdit {
        guard let eq = text.firstIndex(of: "=") else {
            throw TrellisError(.invalidArgument, "'\(text)' is not an assignment: use name=text, name:=JSON, name+=text or name-=text")
        }
        var name = String(text[..<eq])
        let raw = String(text[text.index(after: eq)...])
        let isJSON = name.hasSuffix(":")
        if isJSON { name.removeLast() }
        var op = FieldEdit.Op.set
        if name.hasSuffix("+") { op = .add; name.removeLast() } else if name.hasSuffix("-") { op = .remove; name.removeLast() }
        guard !name.isEmpty else { throw TrellisError(.invalidArgument, "'\(text)' has no field name") }
        let value: Value = isJSON ? try ValueJSON.value(from: JSONParser.parse(raw)) : .string(raw)
        var check = Document()
        check["v"] = value
        try check.validate()
        return FieldEdit(path: try path(name), op: op, value: value)
    }

    /// A dotted field path: `meta.points` is field `points` of the object in field `meta`.
    static func path(_ text: String) throws(TrellisError) -> [String] {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.contains(where: \.isEmpty) else {
            throw TrellisError(.invalidArgument, "'\(text)' is not a field path: names separated by single dots")
        }
        return parts
    }
}

/// One edit of `trellis put`: set a field, add to or remove from a set, or remove a field.
struct FieldEdit: Sendable {
    enum Op: Sendable { case set, add, remove, unset }
    let path: [String]
    let op: Op
    var value: Value = .null

    func apply(to doc: inout Document) throws(TrellisError) {
        let name = path.joined(separator: ".")
        switch op {
        case .set: try doc.set(path: path, to: value)
        case .unset: try doc.set(path: path, to: nil)
        case .add, .remove:
            var elements: [Value] = []
            switch doc[path: path] {
            case .set(let s)?: elements = s.elements
            case nil: break
            case let other?: throw TrellisError(.invalidArgument, "field '\(name)' holds a \(other.typeName), not a set: cannot add or remove elements")
            }
            if op == .add { elements.append(value) } else { elements.removeAll { $0 == value } }
            try doc.set(path: path, to: .set(SetElements(elements)))
        }
    }
}
