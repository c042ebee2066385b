import Trellis

/// Draws the commit graph to the left of a log, as `git log --graph` does: one lane per line of
/// descent, `*` for the commit, `|` for lanes passing by, `\` where a merge opens a lane for
/// its other parents and `/` where lanes meet again. Commits come newest first.
final class GraphLanes {
    /// The commit each lane waits for next.
    private var lanes: [CommitID] = []

    /// The entry's lines with the graph in front: the commit row first, then the lanes below it.
    func draw(_ c: CommitInfo, lines: [String], out: Printer) -> [String] {
        var result: [String] = []
        let column: Int
        if let found = lanes.firstIndex(of: c.id) {
            column = found
        } else {
            lanes.append(c.id)
            column = lanes.count - 1
        }
        // Several lanes waiting for this commit meet in the leftmost.
        let meeting = lanes.indices.filter { $0 != column && lanes[$0] == c.id }
        if !meeting.isEmpty {
            result.append(row(out, between: { meeting.contains($0) ? "/" : nil }) { i in meeting.contains(i) ? " " : "|" })
            for i in meeting.reversed() { lanes.remove(at: i) }
        }
        result.append(row(out) { i in i == column ? "*" : "|" } + (lines.first ?? ""))
        let parents = c.parents
        if parents.isEmpty {
            lanes.remove(at: column)
            if column < lanes.count {
                result.append(row(out, count: lanes.count + 1, between: { $0 > column ? "/" : nil }) { i in i < column ? "|" : " " })
            }
        } else {
            lanes[column] = parents[0]
            let opened = parents.dropFirst().filter { !lanes.contains($0) }
            lanes.insert(contentsOf: opened, at: column + 1)
            if !opened.isEmpty {
                result.append(row(out, between: { $0 > column ? "\\" : nil }) { i in i > column ? " " : "|" })
            }
        }
        return result + lines.dropFirst().map { row(out) { _ in "|" } + $0 }
    }

    /// A line of lanes only, between entries.
    func padding(_ out: Printer) -> String { row(out) { _ in "|" } }

    /// Lane `i` is drawn at column 2i; `between(i)` draws a slash just left of it, at 2i-1.
    private func row(_ out: Printer, count: Int? = nil, between: (Int) -> String? = { _ in nil }, _ mark: (Int) -> String) -> String {
        let n = count ?? lanes.count
        var cells = [String](repeating: " ", count: 2 * n)
        for i in 0..<n {
            let colour = Printer.Style.lanes[i % Printer.Style.lanes.count]
            let m = mark(i)
            cells[2 * i] = m == "*" || m == " " ? m : out.paint(m, colour)
            if i > 0, let slash = between(i) { cells[2 * i - 1] = out.paint(slash, colour) }
        }
        return cells.joined()
    }
}
