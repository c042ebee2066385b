/// The JSON form of values (docs/format.md §JSON form): plain JSON for null, bool, int, double,
/// string, map and list; one-member wrapper objects for the other types.
public enum ValueJSON {
    public static let wrappers: Set<String> = ["$text", "$set", "$counter", "$date", "$bytes"]

    public static func document(fromJSON text: String) throws(TrellisError) -> Document {
        try document(from: JSONParser.parse(text))
    }

    package static func document(from json: JSON) throws(TrellisError) -> Document {
        guard case .object = json else {
            throw TrellisError(.invalidValue, "a document must be a JSON object")
        }
        guard case .map(let doc) = try value(from: json, path: "") else {
            throw TrellisError(.invalidValue, "a document must be a plain JSON object, not a \(wrapperName(json) ?? "wrapper")")
        }
        try doc.validate()
        return doc
    }

    package static func value(from json: JSON) throws(TrellisError) -> Value {
        try value(from: json, path: "")
    }

    private static func wrapperName(_ json: JSON) -> String? {
        guard case .object(let m) = json, m.count == 1, wrappers.contains(m[0].0) else { return nil }
        return m[0].0
    }

    static func value(from json: JSON, path: String) throws(TrellisError) -> Value {
        func bad(_ what: String) -> TrellisError {
            TrellisError(.invalidValue, "field '\(path.isEmpty ? "(top)" : path)': \(what)")
        }
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let n): return .int(n)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .array(let items):
            var out: [Value] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try value(from: item, path: path)) }
            return .list(out)
        case .object(let members):
            if let dollar = members.first(where: { Document.isReserved($0.0) }) {
                guard members.count == 1 else {
                    throw bad("a wrapper object such as \(dollar.0) must have exactly one member")
                }
                return try unwrap(dollar.0, dollar.1, bad)
            }
            var doc = Document()
            for (name, member) in members {
                doc[name] = try value(from: member, path: path.isEmpty ? name : path + "." + name)
            }
            return .map(doc)
        }
    }

    private static func unwrap(_ name: String, _ inner: JSON, _ bad: (String) -> TrellisError) throws(TrellisError) -> Value {
        switch (name, inner) {
        case ("$text", .string(let s)): return .text(s)
        case ("$counter", .int(let n)): return .counter(n)
        case ("$date", .string(let s)):
            guard let ms = ISO8601.parse(s) else {
                throw bad("$date needs an ISO 8601 time such as 2024-05-01T12:00:00.000Z (years 0000-9999, millisecond precision), got \"\(s)\"")
            }
            return .date(ms)
        case ("$bytes", .string(let s)):
            guard let b = Base64.decode(s) else { throw bad("$bytes needs padded standard base64") }
            return .bytes(b)
        case ("$set", .array(let items)):
            var out: [Value] = []
            for item in items { out.append(try value(from: item, path: "")) }
            return .set(out)
        case ("$text", _): throw bad("$text needs a string")
        case ("$counter", _): throw bad("$counter needs an integer")
        case ("$date", _): throw bad("$date needs a string")
        case ("$bytes", _): throw bad("$bytes needs a base64 string")
        case ("$set", _): throw bad("$set needs an array")
        default:
            throw bad("unknown wrapper \(name); known wrappers are $text, $set, $counter, $date and $bytes")
        }
    }

    package static func json(_ document: Document) -> JSON {
        .object(document.fields.map { ($0.name, json($0.value)) })
    }

    package static func json(_ value: Value) -> JSON {
        switch value {
        case .null: .null
        case .bool(let b): .bool(b)
        case .int(let n): .int(n)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        case .date(let ms): .object([("$date", .string(ISO8601.format(millis: ms)))])
        case .bytes(let b): .object([("$bytes", .string(Base64.encode(b)))])
        case .text(let s): .object([("$text", .string(s))])
        case .set(let s): .object([("$set", .array(s.elements.map(json)))])
        case .counter(let n): .object([("$counter", .int(n))])
        case .map(let d): json(d)
        case .list(let items): .array(items.map(json))
        }
    }

    /// The document as JSON text; keys in canonical order.
    public static func text(_ document: Document, pretty: Bool = false) -> String {
        JSONWriter.write(json(document), pretty: pretty)
    }

    public static func text(_ value: Value, pretty: Bool = false) -> String {
        JSONWriter.write(json(value), pretty: pretty)
    }
}
