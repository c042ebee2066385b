import Foundation
import TrellisCore

/// Decodes Trellis values into `Decodable` types; the inverse of `ValueEncoder`.
/// Sets decode wherever arrays do, and a counter or text decodes as its plain Swift type too.
enum ValueDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from document: Document) throws(TrellisError) -> T {
        do { return try decode(type, from: .map(document), path: []) } catch let e as TrellisError { throw e } catch {
            throw TrellisError(.invalidValue, "cannot decode \(T.self): \(describe(error))")
        }
    }

    static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "at '\(path)': \(c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: Value, path: [CodingKey]) throws -> T {
        let special: Any? = switch (type, value) {
        case (is Date.Type, .date(let ms)): Date(timeIntervalSince1970: Double(ms) / 1000)
        case (is Data.Type, .bytes(let b)): Data(b)
        case (is TrellisText.Type, .text(let s)), (is TrellisText.Type, .string(let s)): TrellisText(s)
        case (is Counter.Type, .counter(let n)), (is Counter.Type, .int(let n)): Counter(n)
        default: nil
        }
        if let result = special as? T { return result }
        return try T(from: NodeDecoder(value: value, codingPath: path))
    }

    static func mismatch(_ expected: Any.Type, _ value: Value, _ path: [CodingKey]) -> DecodingError {
        .typeMismatch(expected, .init(codingPath: path, debugDescription: "expected \(expected) but found \(value.typeName)"))
    }

    struct NodeDecoder: Decoder {
        let value: Value
        let codingPath: [CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            guard case .map(let doc) = value else { throw mismatch(Document.self, value, codingPath) }
            return KeyedDecodingContainer(Keyed<Key>(document: doc, codingPath: codingPath))
        }

        func unkeyedContainer() throws -> UnkeyedDecodingContainer {
            switch value {
            case .list(let items): return Unkeyed(items: items, codingPath: codingPath)
            case .set(let s): return Unkeyed(items: s.elements, codingPath: codingPath)
            default: throw mismatch([Value].self, value, codingPath)
            }
        }

        func singleValueContainer() throws -> SingleValueDecodingContainer { Single(value: value, codingPath: codingPath) }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let document: Document
        let codingPath: [CodingKey]
        var allKeys: [Key] { document.names.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { document[key.stringValue] != nil }

        private func value(_ key: Key) throws -> Value {
            guard let v = document[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no field '\(key.stringValue)'"))
            }
            return v
        }

        func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try ValueDecoder.decode(type, from: try value(key), path: codingPath + [key])
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try NodeDecoder(value: try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
            try NodeDecoder(value: try value(key), codingPath: codingPath + [key]).unkeyedContainer()
        }

        func superDecoder() throws -> Decoder {
            NodeDecoder(value: document["super"] ?? .null, codingPath: codingPath)
        }

        func superDecoder(forKey key: Key) throws -> Decoder {
            NodeDecoder(value: try value(key), codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [Value]
        let codingPath: [CodingKey]
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        init(items: [Value], codingPath: [CodingKey]) {
            self.items = items
            self.codingPath = codingPath
        }

        private mutating func next() throws -> (Value, [CodingKey]) {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(Value.self, .init(codingPath: codingPath, debugDescription: "no more elements"))
            }
            defer { currentIndex += 1 }
            return (items[currentIndex], codingPath + [ValueEncoder.IndexKey(currentIndex)])
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, items[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (v, path) = try next()
            return try ValueDecoder.decode(type, from: v, path: path)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let (v, path) = try next()
            return try NodeDecoder(value: v, codingPath: path).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
            let (v, path) = try next()
            return try NodeDecoder(value: v, codingPath: path).unkeyedContainer()
        }

        mutating func superDecoder() throws -> Decoder {
            let (v, path) = try next()
            return NodeDecoder(value: v, codingPath: path)
        }
    }

    struct Single: SingleValueDecodingContainer {
        let value: Value
        let codingPath: [CodingKey]

        func decodeNil() -> Bool { value == .null }

        func decode(_ type: Bool.Type) throws -> Bool {
            guard case .bool(let b) = value else { throw mismatch(type, value, codingPath) }
            return b
        }

        func decode(_ type: String.Type) throws -> String {
            switch value {
            case .string(let s), .text(let s): return s
            default: throw mismatch(type, value, codingPath)
            }
        }

        func decode(_ type: Double.Type) throws -> Double {
            switch value {
            case .double(let d): return d
            case .int(let n), .counter(let n): return Double(n)
            default: throw mismatch(type, value, codingPath)
            }
        }

        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

        private func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
            switch value {
            case .int(let n), .counter(let n):
                guard let v = T(exactly: n) else {
                    throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(n) does not fit in \(T.self)"))
                }
                return v
            default: throw mismatch(type, value, codingPath)
            }
        }

        func decode(_ type: Int.Type) throws -> Int { try integer(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try ValueDecoder.decode(type, from: value, path: codingPath)
        }
    }
}
