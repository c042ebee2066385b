/// A hybrid logical clock timestamp: physical milliseconds plus a logical counter that orders
/// events within one millisecond and across skewed clocks (Kulkarni et al., 2014).
public struct HLCTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var wallMillis: UInt64
    public var logical: UInt32

    public init(wallMillis: UInt64, logical: UInt32) {
        self.wallMillis = wallMillis
        self.logical = logical
    }

    public static let zero = HLCTimestamp(wallMillis: 0, logical: 0)

    public static func < (a: HLCTimestamp, b: HLCTimestamp) -> Bool {
        (a.wallMillis, a.logical) < (b.wallMillis, b.logical)
    }

    public var description: String {
        let ms = Int64(clamping: wallMillis)
        let time = ISO8601.range.contains(ms) ? ISO8601.format(millis: ms) : String(wallMillis)
        return logical == 0 ? time : "\(time)+\(logical)"
    }
}

/// The clock itself. The physical time comes from outside, because Core does no I/O.
package struct HybridLogicalClock: Sendable {
    package private(set) var last: HLCTimestamp

    package init(last: HLCTimestamp = .zero) { self.last = last }

    /// A timestamp greater than every one this clock has issued or observed.
    package mutating func tick(physicalMillis: UInt64) -> HLCTimestamp {
        if physicalMillis > last.wallMillis {
            last = HLCTimestamp(wallMillis: physicalMillis, logical: 0)
        } else if last.logical == UInt32.max {
            last = HLCTimestamp(wallMillis: last.wallMillis + 1, logical: 0)
        } else {
            last.logical += 1
        }
        return last
    }

    /// Folds in a timestamp seen elsewhere (a stored or received commit).
    package mutating func observe(_ t: HLCTimestamp) {
        if t > last { last = t }
    }
}
