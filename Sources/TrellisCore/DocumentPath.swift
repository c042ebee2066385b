extension Document {
    /// The value at a field path (names from the top level down); nil when absent.
    public subscript(path path: [String]) -> Value? {
        guard let first = path.first else { return nil }
        guard path.count > 1 else { return self[first] }
        guard case .map(let inner)? = self[first] else { return nil }
        return inner[path: Array(path.dropFirst())]
    }

    /// Sets (or with nil removes) the value at a field path, creating the maps on the way.
    /// Removing a nested field leaves its map in place, even when that empties it. Fails when a
    /// field on the way holds something other than a map.
    public mutating func set(path: [String], to value: Value?) throws(TrellisError) {
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
            throw TrellisError(.invalidArgument, "an empty field name in '\(path.joined(separator: "."))'")
        }
        try set(path, from: 0, to: value)
    }

    private mutating func set(_ path: [String], from depth: Int, to value: Value?) throws(TrellisError) {
        let name = path[depth]
        guard depth < path.count - 1 else { return self[name] = value }
        var inner: Document
        switch self[name] {
        case .map(let d)?: inner = d
        case nil:
            guard value != nil else { return }  // removing below a missing field: nothing to do
            inner = Document()
        case let other?:
            throw TrellisError(.invalidArgument,
                "field '\(path[...depth].joined(separator: "."))' holds a \(other.typeName), not an object: cannot set '\(path.joined(separator: "."))'")
        }
        try inner.set(path, from: depth + 1, to: value)
        self[name] = .map(inner)
    }
}
