/// Value tags of the canonical encoding, docs/format.md §Values.
enum Tag: UInt8 {
    case null = 0x00, falseValue = 0x01, trueValue = 0x02, int = 0x03, double = 0x04
    case string = 0x05, date = 0x06, bytes = 0x07, text = 0x08, set = 0x09
    case counter = 0x0A, map = 0x0B, list = 0x0C
}

/// The canonical binary encoding of values: deterministic, so equal values give equal bytes.
package enum CanonicalEncoder {
    package static func encode(_ value: Value) -> [UInt8] {
        var w = ByteWriter()
        write(value, to: &w)
        return w.bytes
    }

    package static func encode(_ document: Document) -> [UInt8] {
        var w = ByteWriter()
        write(document, to: &w)
        return w.bytes
    }

    package static func write<W: ByteSink>(_ document: Document, to w: inout W) {
        w.u8(Tag.map.rawValue)
        w.varint(UInt64(document.fields.count))
        document.fields.withUnsafeBufferPointer { fields in  // read in place, not copied out
            for i in fields.indices {
                w.string(fields[i].name)
                write(fields[i].value, to: &w)
            }
        }
    }

    package static func write<W: ByteSink>(_ value: Value, to w: inout W) {
        switch value {
        case .null: w.u8(Tag.null.rawValue)
        case .bool(let b): w.u8(b ? Tag.trueValue.rawValue : Tag.falseValue.rawValue)
        case .int(let i):
            w.u8(Tag.int.rawValue)
            w.signedVarint(i)
        case .double(let d):
            w.u8(Tag.double.rawValue)
            w.u64((d == 0 ? 0.0 : d).bitPattern)  // -0.0 is written as +0.0
        case .string(let s):
            w.u8(Tag.string.rawValue)
            w.string(s)
        case .date(let ms):
            w.u8(Tag.date.rawValue)
            w.signedVarint(ms)
        case .bytes(let b):
            w.u8(Tag.bytes.rawValue)
            w.varint(UInt64(b.count))
            w.raw(b)
        case .text(let s):
            w.u8(Tag.text.rawValue)
            w.string(s)
        case .set(let s):
            w.u8(Tag.set.rawValue)
            w.varint(UInt64(s.elements.count))
            for e in s.elements { write(e, to: &w) }
        case .counter(let c):
            w.u8(Tag.counter.rawValue)
            w.signedVarint(c)
        case .map(let d): write(d, to: &w)
        case .list(let items):
            w.u8(Tag.list.rawValue)
            w.varint(UInt64(items.count))
            for item in items { write(item, to: &w) }
        }
    }
}

/// Decodes canonical values and rejects every non-canonical form, so decode∘encode is the identity on bytes.
package enum CanonicalDecoder {
    /// Decodes a document and refuses everything `Document.validate` refuses, so that every
    /// stored document is one the encoder could have produced.
    package static func decodeDocument(_ r: inout ByteReader) throws(TrellisError) -> Document {
        guard case .map(let d) = try decodeValue(&r, level: 1) else {
            throw TrellisError(.corruptData, "expected a map for the document")
        }
        return d
    }

    /// Decodes a value as a field of a document (level 2).
    package static func decodeValue(_ r: inout ByteReader) throws(TrellisError) -> Value {
        try decodeValue(&r, level: 2)
    }

    /// `level` is the container level the value would have (docs/format.md §Values).
    static func decodeValue(_ r: inout ByteReader, level: Int) throws(TrellisError) -> Value {
        let at = r.offset
        guard let tag = Tag(rawValue: try r.u8()) else {
            throw TrellisError(.corruptData, "unknown value tag at byte \(at)")
        }
        switch tag {
        case .null: return .null
        case .falseValue: return .bool(false)
        case .trueValue: return .bool(true)
        case .int: return .int(try r.signedVarint())
        case .double:
            let d = Double(bitPattern: try r.u64())
            guard d.isFinite, !(d == 0 && d.sign == .minus) else {
                throw TrellisError(.corruptData, "non-canonical double at byte \(at)")
            }
            return .double(d)
        case .string: return .string(try r.string())
        case .date:
            let ms = try r.signedVarint()
            guard ISO8601.range.contains(ms) else { throw TrellisError(.corruptData, "date outside years 0000-9999 at byte \(at)") }
            return .date(ms)
        case .bytes:
            let n = try r.length()
            return .bytes(Array(try r.raw(n)))
        case .text: return .text(try r.string())
        case .counter: return .counter(try r.signedVarint())
        case .list:
            try checkLevel(level, at: at)
            let n = try r.length()
            var items: [Value] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try decodeValue(&r, level: level + 1)) }
            return .list(items)
        case .set:
            try checkLevel(level, at: at)
            let n = try r.length()
            var items: [Value] = []
            items.reserveCapacity(n)
            var previous: ArraySlice<UInt8>? = nil
            for _ in 0..<n {
                let start = r.offset
                items.append(try decodeValue(&r, level: level + 1))
                let encoded = r.bytes[start..<r.offset]
                if let p = previous, !p.lexicographicallyPrecedes(encoded) {
                    throw TrellisError(.corruptData, "set elements out of order or repeated at byte \(start)")
                }
                previous = encoded
            }
            return .set(SetElements(canonical: items))
        case .map:
            try checkLevel(level, at: at)
            let n = try r.length()
            var fields: [Document.Field] = []
            fields.reserveCapacity(n)
            for _ in 0..<n {
                let start = r.offset
                let name = try r.string()
                guard !Document.isReserved(name) else {
                    throw TrellisError(.corruptData, "field name starting with '$' at byte \(start)")
                }
                if let last = fields.last, Document.compare(last.name, name) >= 0 {
                    throw TrellisError(.corruptData, "map fields out of order or repeated at byte \(start)")
                }
                fields.append(Document.Field(name: name, value: try decodeValue(&r, level: level + 1)))
            }
            return .map(Document(canonical: fields))
        }
    }
}

extension CanonicalDecoder {
    static func checkLevel(_ level: Int, at offset: Int) throws(TrellisError) {
        guard level <= Document.maxDepth else {
            throw TrellisError(.corruptData, "maps, lists and sets nest deeper than \(Document.maxDepth) levels at byte \(offset)")
        }
    }
}

extension SetElements {
    /// Elements already known to be in canonical order (the decoder checked).
    init(canonical: [Value]) { self.init(unchecked: canonical) }
}

extension Document {
    /// Fields already known to be in canonical order (the decoder checked).
    init(canonical: [Field]) {
        self.init()
        self.setFieldsUnchecked(canonical)
    }
}
