import TrellisCore
import TrellisStorage

/// A point in a repository's history, as a user names it (docs/history.md §Revisions).
///
/// ```swift
/// try Revision("3f2a9c")            // a commit id or unique prefix (4+ hex digits)
/// try Revision("2026-11-30")        // midnight UTC; also 2026-11-30T12:00Z, ...T12:00:05+01:00
/// try Revision("yesterday")         // 24 hours ago; also now, today, 90s, 15m, 2h, 3d, 1w
/// try Revision("t1~2")              // record t1's newest head's first parent's first parent
/// ```
public enum Revision: Sendable, Hashable {
    /// A full commit id or a unique prefix of at least 4 hex digits.
    case commit(String)
    /// An instant, in milliseconds since 1970-01-01T00:00:00Z.
    case time(Int64)
    /// `steps` first parents back from the newest head of record `base` (or from commit `base`,
    /// when no record has that key and it is a commit id or prefix). `KEY` alone is `KEY~0`.
    case ancestor(of: String, steps: Int)

    /// Parses a revision. Relative times count back from `now` (milliseconds; the clock when nil).
    public init(_ text: String, now: Int64? = nil) throws(TrellisError) {
        guard !text.isEmpty else { throw TrellisError(.invalidArgument, "an empty revision: give a commit id, a time or KEY~N") }
        let clock = now ?? Int64(clamping: FileSystem.nowMillis())
        if Revision.isCommitPrefix(text) {
            // "100d" could be either: a commit prefix when a commit has it, else a time (`point`).
            self = .commit(text)
        } else if let ms = Revision.relative(text, now: clock) ?? Revision.absolute(text) {
            self = .time(ms)
        } else if let tilde = text.lastIndex(of: "~") {
            let digits = text[text.index(after: tilde)...]
            let base = String(text[..<tilde])
            guard !base.isEmpty, digits.allSatisfy(\.isASCIIDigit), digits.count <= 9 else {
                throw TrellisError(.invalidArgument, "'\(text)' is not a revision: KEY~N takes a record key and a number of steps")
            }
            self = .ancestor(of: base, steps: digits.isEmpty ? 1 : Int(digits) ?? 1)
        } else if Revision.looksLikeTime(text) {
            throw TrellisError(.invalidArgument,
                "'\(text)' is not a time: use 2026-11-30, 2026-11-30T12:00Z, yesterday, or a number and s, m, h, d or w (2h, 3d)")
        } else {
            self = .ancestor(of: text, steps: 0)
        }
    }

    static func isCommitPrefix(_ text: String) -> Bool {
        (4...64).contains(text.utf8.count) && text.allSatisfy(\.isHexDigit)
    }

    private static let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]

    /// `now`, `today` (midnight UTC), `yesterday` (24 hours ago), or digits and a unit.
    static func relative(_ text: String, now: Int64) -> Int64? {
        switch text.lowercased() {
        case "now": return now
        case "today": return now - ((now % 86_400_000) + 86_400_000) % 86_400_000
        case "yesterday": return now - 86_400_000
        default: break
        }
        guard let unit = text.last.flatMap({ units[$0] }), text.count > 1 else { return nil }
        let number = text.dropLast()
        guard number.count <= 9, number.allSatisfy(\.isASCIIDigit), let n = Int64(number) else { return nil }
        return now - n * unit
    }

    /// `YYYY-MM-DD`, or that with `T` (or a space) and `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff`,
    /// then `Z`, `±HH:MM` or nothing (UTC).
    static func absolute(_ text: String) -> Int64? {
        let chars = Array(text)
        guard chars.count >= 10 else { return nil }
        let date = String(chars[0..<10])
        if chars.count == 10 { return ISO8601.parse(date + "T00:00:00Z") }
        guard chars[10] == "T" || chars[10] == " " || chars[10] == "t" else { return nil }
        var rest = String(chars[11...])
        var zone = "Z"
        if rest.hasSuffix("Z") || rest.hasSuffix("z") {
            rest.removeLast()
        } else if rest.count > 6, let sign = rest.dropLast(5).last, sign == "+" || sign == "-" {
            zone = String(rest.suffix(6))
            rest.removeLast(6)
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0].count == 2, parts[1].count == 2 else { return nil }
        let seconds = parts.count == 3 ? String(parts[2]) : "00"
        return ISO8601.parse(date + "T" + parts[0] + ":" + parts[1] + ":" + seconds + zone)
    }

    /// Text a user meant as a time, so that a typo gets an error rather than a key lookup.
    static func looksLikeTime(_ text: String) -> Bool {
        let c = Array(text)
        return c.count >= 8 && c[0...3].allSatisfy(\.isASCIIDigit) && c[4] == "-"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
