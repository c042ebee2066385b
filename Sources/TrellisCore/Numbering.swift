/// Numbers distinct values 0, 1, 2, ... in the order first seen: flat tables (a repack's
/// record keys and authors, a coverage plan's authors) hold the numbers, not the values.
package struct Numbering<Value: Hashable> {
    private var numbers: [Value: Int32] = [:]
    /// The values by number.
    package private(set) var values: [Value] = []

    package init() {}

    package mutating func number(of value: Value) -> Int32 {
        if let n = numbers[value] { return n }
        let n = Int32(values.count)
        numbers[value] = n
        values.append(value)
        return n
    }
}
