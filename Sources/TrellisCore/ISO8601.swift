/// Dates as UTC milliseconds, written `YYYY-MM-DDTHH:MM:SS.sssZ`. Proleptic Gregorian calendar,
/// years 0000-9999; no Foundation, so the civil-date arithmetic is here (after H. Hinnant).
package enum ISO8601 {
    package static let range: ClosedRange<Int64> = -62_167_219_200_000...253_402_300_799_999

    package static func format(millis: Int64) -> String {
        let ms = millis
        var days = ms / 86_400_000
        var rem = ms % 86_400_000
        if rem < 0 { rem += 86_400_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        let h = rem / 3_600_000, mi = rem / 60_000 % 60, s = rem / 1000 % 60, f = rem % 1000
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(h, 2) + ":" + pad(mi, 2) + ":" + pad(s, 2) + "." + pad(f, 3) + "Z"
    }

    /// Accepts `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; fraction digits past milliseconds must be zero.
    package static func parse(_ text: String) -> Int64? {
        let c = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= c.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let d = c[i + k]
                guard d >= 48, d <= 57 else { return nil }
                v = v * 10 + Int64(d - 48)
            }
            i += n
            return v
        }
        func lit(_ ch: Character) -> Bool {
            guard i < c.count, c[i] == ch.asciiValue else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), lit("-"), let mo = digits(2), lit("-"), let d = digits(2), lit("T"),
            let h = digits(2), lit(":"), let mi = digits(2), lit(":"), let s = digits(2)
        else { return nil }
        var frac: Int64 = 0
        if lit(".") {
            var n = 0
            while i < c.count, c[i] >= 48, c[i] <= 57 {
                if n < 3 {
                    frac = frac * 10 + Int64(c[i] - 48)
                } else if c[i] != 48 {
                    return nil  // sub-millisecond precision would be lost
                }
                n += 1
                i += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<max(n, 3) { frac *= 10 }
        }
        var offset: Int64 = 0
        if lit("Z") {
        } else if i < c.count, c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
            let sign: Int64 = c[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = digits(2), lit(":"), let om = digits(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 60 + om) * 60_000
        } else {
            return nil
        }
        guard i == c.count, (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y), h < 24, mi < 60, s < 60 else {
            return nil
        }
        let ms = (days(fromCivil: y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1000 + frac - offset
        return range.contains(ms) ? ms : nil
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
