import Foundation
import TrellisCore

/// Encodes `Encodable` values to Trellis values: Date → date, Data → bytes, `TrellisText` → text,
/// `Counter` → counter, `Set` → set, integers → int, floating point → double.
enum ValueEncoder {
    static func document(_ value: some Encodable) throws(TrellisError) -> Document {
        let encoded: Value
        do { encoded = try encode(value, path: []) } catch let e as TrellisError { throw e } catch {
            throw TrellisError(.invalidValue, "cannot encode \(type(of: value)): \(error)")
        }
        guard case .map(let doc) = encoded else {
            throw TrellisError(.invalidValue, "a record must encode as a keyed container (a struct or dictionary), not \(encoded.typeName)")
        }
        try doc.validate()
        return doc
    }

    static func encode(_ value: Encodable, path: [CodingKey]) throws -> Value {
        switch value {
        case let d as Date: return .date(Int64((d.timeIntervalSince1970 * 1000).rounded()))
        case let d as Data: return .bytes(Array(d))
        case let t as TrellisText: return .text(t.value)
        case let c as Counter: return .counter(c.value)
        case let s as EncodesAsTrellisSet: return .set(try s.setElements { try encode($0, path: path) })
        default:
            let node = Node()
            try value.encode(to: NodeEncoder(node: node, codingPath: path))
            return try node.resolve(path)
        }
    }

    /// What an encoder call builds: one value, a keyed map or an unkeyed list.
    final class Node {
        var value: Value?
        var fields: [(String, Node)]?
        var items: [Node]?

        func resolve(_ path: [CodingKey]) throws -> Value {
            if let value { return value }
            if let fields {
                var doc = Document()
                for (name, node) in fields { doc[name] = try node.resolve(path) }
                return .map(doc)
            }
            if let items { return .list(try items.map { try $0.resolve(path) }) }
            return .map(Document())  // an encoder that wrote nothing: an empty object, as JSONEncoder does
        }
    }

    struct NodeEncoder: Encoder {
        let node: Node
        let codingPath: [CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if node.fields == nil { node.fields = [] }
            return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> UnkeyedEncodingContainer {
            if node.items == nil { node.items = [] }
            return Unkeyed(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> SingleValueEncodingContainer { Single(node: node, codingPath: codingPath) }
    }

    /// A container element: primitives directly, anything else through `encode`.
    static func encodeElement(_ value: Encodable, path: [CodingKey]) throws -> Value {
        switch value {
        case let v as Bool: .bool(v)
        case let v as String: .string(v)
        case let v as Double: .double(v)
        case let v as Float: .double(Double(v))
        case let v as any BinaryInteger: try integer(v, path)
        default: try encode(value, path: path)
        }
    }

    static func integer<T: BinaryInteger>(_ v: T, _ path: [CodingKey]) throws -> Value {
        guard let n = Int64(exactly: v) else {
            throw EncodingError.invalidValue(v, .init(codingPath: path, debugDescription: "\(v) does not fit in a 64-bit signed integer"))
        }
        return .int(n)
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [CodingKey]

        private func put(_ key: Key, _ child: Node) {
            node.fields?.removeAll { $0.0 == key.stringValue }
            node.fields?.append((key.stringValue, child))
        }

        mutating func encodeNil(forKey key: Key) throws {
            let n = Node()
            n.value = .null
            put(key, n)
        }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            let n = Node()
            n.value = try ValueEncoder.encodeElement(value, path: codingPath + [key])
            put(key, n)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let n = Node()
            n.fields = []
            put(key, n)
            return KeyedEncodingContainer(Keyed<NestedKey>(node: n, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            let n = Node()
            n.items = []
            put(key, n)
            return Unkeyed(node: n, codingPath: codingPath + [key])
        }

        /// A superclass's fields go under "super", as JSONEncoder puts them.
        mutating func superEncoder() -> Encoder { superEncoder(named: "super", path: codingPath + [IndexKey.named("super")]) }

        mutating func superEncoder(forKey key: Key) -> Encoder {
            superEncoder(named: key.stringValue, path: codingPath + [key])
        }

        private func superEncoder(named name: String, path: [CodingKey]) -> Encoder {
            let n = Node()
            node.fields?.removeAll { $0.0 == name }
            node.fields?.append((name, n))
            return NodeEncoder(node: n, codingPath: path)
        }
    }

    /// A coding key for list positions (and the "super" field), for error paths.
    struct IndexKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(_ i: Int) { intValue = i; stringValue = String(i) }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { self.init(intValue) }
        static func named(_ name: String) -> IndexKey { IndexKey(stringValue: name) ?? IndexKey(0) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [CodingKey]
        var count: Int { node.items?.count ?? 0 }

        mutating func encodeNil() throws {
            let n = Node()
            n.value = .null
            node.items?.append(n)
        }

        mutating func encode<T: Encodable>(_ value: T) throws {
            let n = Node()
            n.value = try ValueEncoder.encodeElement(value, path: codingPath + [IndexKey(count)])
            node.items?.append(n)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let n = Node()
            n.fields = []
            node.items?.append(n)
            return KeyedEncodingContainer(Keyed<NestedKey>(node: n, codingPath: codingPath + [IndexKey(count - 1)]))
        }

        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
            let n = Node()
            n.items = []
            node.items?.append(n)
            return Unkeyed(node: n, codingPath: codingPath + [IndexKey(count - 1)])
        }

        mutating func superEncoder() -> Encoder {
            let n = Node()
            node.items?.append(n)
            return NodeEncoder(node: n, codingPath: codingPath + [IndexKey(count - 1)])
        }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [CodingKey]

        mutating func encodeNil() throws { node.value = .null }
        mutating func encode(_ value: Bool) throws { node.value = .bool(value) }
        mutating func encode(_ value: String) throws { node.value = .string(value) }
        mutating func encode(_ value: Double) throws { node.value = .double(value) }
        mutating func encode(_ value: Float) throws { node.value = .double(Double(value)) }
        mutating func encode(_ value: Int) throws { node.value = try ValueEncoder.integer(value, codingPath) }
        mutating func encode(_ value: Int8) throws { node.value = try ValueEncoder.integer(value, codingPath) }
        mutating func encode(_ value: Int16) throws { node.value = try ValueEncoder.integer(value, codingPath) }
        mutating func encode(_ value: Int32) throws { node.value = try ValueEncoder.integer(value, codingPath) }
        mutating func encode(_ value: Int64) throws { node.value = .int(value) }
        mutating func encode(_ value: UInt) throws { node.value = try ValueEncoder.integer(value, codingPath) }
        mutating func encode(_ value: UInt8) throws { node.value = try ValueEncoder.integer(value, codingPath) }
        mutating func encode(_ value: UInt16) throws { node.value = try ValueEncoder.integer(value, codingPath) }
        mutating func encode(_ value: UInt32) throws { node.value = try ValueEncoder.integer(value, codingPath) }
        mutating func encode(_ value: UInt64) throws { node.value = try ValueEncoder.integer(value, codingPath) }
        mutating func encode<T: Encodable>(_ value: T) throws { node.value = try ValueEncoder.encode(value, path: codingPath) }
    }
}
