/// A typed field value. How a value merges depends on its case (see docs/merge.md).
/// Not `indirect`: arrays already break the recursion, and inline payloads spare a box per
/// value (and its retains) on every copy.
public enum Value: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    /// Milliseconds since 1970-01-01T00:00:00Z.
    case date(Int64)
    case bytes([UInt8])
    /// Multi-line text that merges line by line.
    case text(String)
    /// Elements kept sorted by their canonical encoding, without duplicates; build with `Value.set(_:)`.
    case set(SetElements)
    case counter(Int64)
    case map(Document)
    case list([Value])

    /// A set value from any elements: duplicates dropped, canonical order.
    public static func set(_ elements: [Value]) -> Value { .set(SetElements(elements)) }

    /// Equal exactly when the canonical encodings are equal: strings compare by their UTF-8
    /// bytes, never by Unicode equivalence, so that every peer agrees (docs/merge.md).
    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)), (.date(let x), .date(let y)), (.counter(let x), .counter(let y)): x == y
        case (.double(let x), .double(let y)): x == y  // finite only; -0.0 encodes as +0.0
        case (.string(let x), .string(let y)), (.text(let x), .text(let y)): Value.sameBytes(x, y)
        case (.bytes(let x), .bytes(let y)): x == y
        case (.set(let x), .set(let y)): x == y
        case (.map(let x), .map(let y)): x == y
        case (.list(let x), .list(let y)): x == y
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .int(let i): hasher.combine(1); hasher.combine(i)
        case .double(let d): hasher.combine(d)
        case .string(let s): hasher.combine(2); Value.hashBytes(s, &hasher)
        case .date(let d): hasher.combine(3); hasher.combine(d)
        case .bytes(let b): hasher.combine(b)
        case .text(let s): hasher.combine(4); Value.hashBytes(s, &hasher)
        case .set(let s): hasher.combine(s)
        case .counter(let c): hasher.combine(5); hasher.combine(c)
        case .map(let d): hasher.combine(d)
        case .list(let l): hasher.combine(l)
        }
    }

    /// Equal UTF-8 bytes (not Unicode equivalence, which `==` on strings tests).
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        // Identical representations (one storage, or the same small string) hold the same bytes.
        if identical(a, b) { return true }
        if let same = withUTF8(a, b, { x, y in ByteTokens.equal(x, 0, x.count, y, 0, y.count) }) { return same }
        return a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8)
    }

    /// Whether two strings have one representation: the same storage (or the same small-string
    /// bytes) and the same count, and so the same bytes. A false answer says nothing.
    @inline(__always) static func identical(_ a: String, _ b: String) -> Bool {
        guard MemoryLayout<String>.size == 16 else { return false }
        return withUnsafeBytes(of: a) { x in
            withUnsafeBytes(of: b) { y in
                x.loadUnaligned(as: UInt64.self) == y.loadUnaligned(as: UInt64.self)
                    && x.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == y.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            }
        }
    }

    /// Both strings' UTF-8 bytes lent at once, or nil when either has no contiguous storage
    /// (a bridged string), for which callers walk the UTF-8 views instead.
    @inline(__always) static func withUTF8<R>(_ a: String, _ b: String,
                                               _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R? {
        let r = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in body(UnsafeRawBufferPointer(x), UnsafeRawBufferPointer(y)) }
        }
        return r ?? nil
    }

    static func hashBytes(_ s: String, _ hasher: inout Hasher) {
        var s = s
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(s.utf8.count)
    }

    /// The name of the type, as docs and error messages say it.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int: "int"
        case .double: "double"
        case .string: "string"
        case .date: "date"
        case .bytes: "bytes"
        case .text: "text"
        case .set: "set"
        case .counter: "counter"
        case .map: "map"
        case .list: "list"
        }
    }
}

/// The elements of a set value, in canonical order (ascending canonical encoding) and unique.
public struct SetElements: Hashable, Sendable {
    public private(set) var elements: [Value]

    public init(_ values: [Value]) {
        var keyed = values.map { (CanonicalEncoder.encode($0), $0) }
        keyed.sort { $0.0.lexicographicallyPrecedes($1.0) }
        var out: [Value] = []
        out.reserveCapacity(keyed.count)
        var previous: [UInt8]? = nil
        for (bytes, value) in keyed where bytes != previous {
            out.append(value)
            previous = bytes
        }
        elements = out
    }

    init(unchecked elements: [Value]) { self.elements = elements }
}

/// A record's contents: fields in canonical order (ascending UTF-8 bytes of the name), unique names.
/// The order in which fields were set never matters.
public struct Document: Hashable, Sendable {
    public struct Field: Hashable, Sendable {
        public var name: String
        public var value: Value

        /// Whether two fields in memory have the same bits: one name representation and one
        /// value box, and so equal, without retaining either. A false answer says nothing.
        @inline(__always) static func sameBits(_ a: UnsafeBufferPointer<Field>, _ i: Int,
                                               _ b: UnsafeBufferPointer<Field>, _ j: Int) -> Bool {
            guard let pa = a.baseAddress, let pb = b.baseAddress, a.indices.contains(i), b.indices.contains(j) else { return false }
            let x = UnsafeRawPointer(pa + i), y = UnsafeRawPointer(pb + j)
            var offset = 0
            while offset + 8 <= MemoryLayout<Field>.size {
                guard x.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == y.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else { return false }
                offset += 8
            }
            while offset < MemoryLayout<Field>.size {
                guard x.load(fromByteOffset: offset, as: UInt8.self) == y.load(fromByteOffset: offset, as: UInt8.self) else { return false }
                offset += 1
            }
            return true
        }

        /// Names compare by UTF-8 bytes, as everywhere in a document.
        public static func == (a: Field, b: Field) -> Bool { Value.sameBytes(a.name, b.name) && a.value == b.value }

        public func hash(into hasher: inout Hasher) {
            Value.hashBytes(name, &hasher)
            hasher.combine(value)
        }
    }

    public private(set) var fields: [Field] = []

    public init() {}

    /// Builds a document; a later duplicate name replaces an earlier one.
    public init(_ pairs: [(String, Value)]) {
        for (name, value) in pairs { self[name] = value }
    }

    mutating func setFieldsUnchecked(_ f: [Field]) { fields = f }

    public var isEmpty: Bool { fields.isEmpty }
    public var count: Int { fields.count }
    public var names: [String] { fields.map(\.name) }

    public subscript(name: String) -> Value? {
        get {
            let (index, found) = position(of: name)
            return found ? fields[index].value : nil
        }
        set {
            let (index, found) = position(of: name)
            switch (found, newValue) {
            case (true, let value?): fields[index].value = value
            case (true, nil): fields.remove(at: index)
            case (false, let value?): fields.insert(Field(name: name, value: value), at: index)
            case (false, nil): break
            }
        }
    }

    /// Binary search by UTF-8 bytes, so order never depends on Unicode collation.
    private func position(of name: String) -> (Int, Bool) {
        var low = 0
        var high = fields.count
        while low < high {
            let mid = (low + high) / 2
            let c = Document.compare(fields[mid].name, name)
            if c == 0 { return (mid, true) }
            if c < 0 { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    /// Byte order of the UTF-8 forms: -1, 0 or 1.
    package static func compare(_ a: String, _ b: String) -> Int {
        let fast = Value.withUTF8(a, b) { x, y in
            for i in 0..<min(x.count, y.count) where x[i] != y[i] { return x[i] < y[i] ? -1 : 1 }
            return x.count == y.count ? 0 : x.count < y.count ? -1 : 1
        }
        if let fast { return fast }
        var ia = a.utf8.makeIterator()
        var ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?): if x != y { return x < y ? -1 : 1 }
            }
        }
    }
}

extension Document {
    /// Checks what the type system cannot: finite doubles, date range, names, nesting depth.
    /// The decoder applies the same rules to stored and received bytes (docs/format.md §Values).
    public func validate() throws(TrellisError) {
        try Document.validate(.map(self), level: 1, path: "")
    }

    /// The deepest container level: the document is level 1, and a map, list or set that is a
    /// field or element of a container at level L is at level L + 1.
    public static let maxDepth = 64

    public static func depthError() -> TrellisError {
        TrellisError(.invalidValue, "document nests deeper than \(maxDepth) levels of maps, lists and sets")
    }

    /// Names whose first byte is `$` (0x24) belong to type wrappers in the JSON form.
    public static func isReserved(_ name: String) -> Bool { name.utf8.first == 0x24 }

    public static func reservedNameError(_ path: String) -> TrellisError {
        TrellisError(.invalidValue, "field name '\(path)' starts with '$', which is reserved for type wrappers")
    }

    private static func validate(_ value: Value, level: Int, path: String) throws(TrellisError) {
        switch value {
        case .double(let d) where !d.isFinite:
            throw TrellisError(.invalidValue, "field '\(path)' holds a double that is not finite")
        case .date(let ms) where !ISO8601.range.contains(ms):
            throw TrellisError(.invalidValue, "field '\(path)' holds a date outside years 0000-9999")
        case .map(let d):
            guard level <= maxDepth else { throw depthError() }
            for field in d.fields {
                let fieldPath = path.isEmpty ? field.name : path + "." + field.name
                guard !Document.isReserved(field.name) else { throw reservedNameError(fieldPath) }
                try validate(field.value, level: level + 1, path: fieldPath)
            }
        case .list(let items):
            guard level <= maxDepth else { throw depthError() }
            for item in items { try validate(item, level: level + 1, path: path) }
        case .set(let s):
            guard level <= maxDepth else { throw depthError() }
            for item in s.elements { try validate(item, level: level + 1, path: path) }
        default: break
        }
    }
}
