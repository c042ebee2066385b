import TrellisCore

/// A text field for Codable models: merges line by line, where a `String` merges as a whole.
/// (Not `Text`, which every SwiftUI file already names.)
public struct TrellisText: Codable, Hashable, Sendable, ExpressibleByStringLiteral {
    public var value: String
    public init(_ value: String) { self.value = value }
    public init(stringLiteral value: String) { self.value = value }
    public init(from decoder: Decoder) throws { value = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

/// A counter field for Codable models: concurrent increments add up instead of overwriting.
public struct Counter: Codable, Hashable, Sendable, ExpressibleByIntegerLiteral {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public init(integerLiteral value: Int64) { self.value = value }
    public init(from decoder: Decoder) throws { value = try decoder.singleValueContainer().decode(Int64.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

/// Swift `Set`s are stored as Trellis sets, which merge by adds and removes.
protocol EncodesAsTrellisSet {
    func setElements(encoder: (Encodable) throws -> Value) throws -> [Value]
}

extension Set: EncodesAsTrellisSet where Element: Encodable {
    func setElements(encoder: (Encodable) throws -> Value) throws -> [Value] { try map(encoder) }
}
