import Trellis
import TrellisCore

/// The read-only web inspector at `/ui` (docs/server.md §Inspector): server-rendered HTML and
/// SVG over the same library calls as the command line, no scripts and no build step. Every
/// page needs the server's inspector token in the URL unless the server is open.
struct Inspector: Sendable {
    let store: Store
    /// nil: no token needed (an open server).
    let token: String?

    enum Page: Sendable { case index, repository, record, commit, conflicts, stats }

    struct Failure: Error { let status: Int; let message: String }

    /// The HTML of a page for the query parameters given.
    func render(_ page: Page, _ query: [String: String]) throws(Failure) -> String {
        if let token, query["token"] != token {
            throw Failure(status: 403, message: "this inspector needs the token printed when the server started: /ui?token=…")
        }
        do {
            switch page {
            case .index: return try index()
            case .repository: return try repository(try required("name", query), search: query["q"] ?? "")
            case .record: return try record(try required("repo", query), try required("key", query))
            case .commit: return try commit(try required("id", query))
            case .conflicts: return try conflicts(try required("repo", query))
            case .stats: return try stats()
            }
        } catch let failure as Failure {
            throw failure
        } catch let error as TrellisError {
            throw Failure(status: error.code == .notFound ? 404 : 400, message: error.message)
        } catch {
            throw Failure(status: 500, message: "\(error)")
        }
    }

    private func required(_ name: String, _ query: [String: String]) throws(Failure) -> String {
        guard let v = query[name], !v.isEmpty else { throw Failure(status: 400, message: "missing parameter '\(name)'") }
        return v
    }

    // MARK: Pages

    private func index() throws -> String {
        var rows = ""
        for name in try store.repositoryNames() {
            let repo = try store.repository(name)
            let pending = try repo.recordsWithSeveralHeads().count
            rows += "<tr><td>\(link("repo", ["name": name], name))</td><td>\(try repo.keys().count)</td>"
                + "<td>\(pending == 0 ? "0" : link("conflicts", ["repo": name], "\(pending)"))</td></tr>"
        }
        return page("Trellis store", """
            <p>Store <code>\(htmlEscape(store.path))</code>, identity <code>\(htmlEscape(try store.identity.description))</code>.
            \(link("stats", [:], "Store stats"))</p>
            <h2>Repositories</h2>
            <table id="repositories"><tr><th>repository</th><th>live records</th><th>with several heads</th></tr>\(rows)</table>
            """)
    }

    private func repository(_ name: String, search: String) throws -> String {
        let repo = try store.existingRepository(name)
        let needle = search.replacingPluses.lowercased()
        let keys = try repo.keys().filter { needle.isEmpty || $0.lowercased().contains(needle) }
        let shown = keys.prefix(500).map { "<li>\(link("record", ["repo": name, "key": $0], $0))</li>" }.joined()
        let names = try store.displayNames()
        let recent = try repo.log(LogQuery(limit: 20)).map { c in
            "<tr><td>\(link("commit", ["id": c.id.hex], c.id.short))</td><td>\(link("record", ["repo": name, "key": c.key], c.key))</td>"
                + "<td>\(htmlEscape(author(c.author, names)))</td><td>\(htmlEscape(time(c)))</td><td>\(htmlEscape(Inspector.kind(c)))</td></tr>"
        }.joined()
        return page("Repository \(name)", """
            <p>\(link("index", [:], "All repositories")) · \(link("conflicts", ["repo": name], "Conflicts and records with several heads"))</p>
            <form method="get" action="/ui/repo"><input type="hidden" name="name" value="\(htmlEscape(name))">\(tokenField)
            <input name="q" value="\(htmlEscape(search.replacingPluses))" placeholder="search keys"> <button>Search</button></form>
            <h2>Records (\(keys.count)\(keys.count > 500 ? ", first 500 shown" : ""))</h2><ul id="records">\(shown)</ul>
            <h2>Recent commits</h2>
            <table id="log"><tr><th>commit</th><th>record</th><th>author</th><th>time</th><th>kind</th></tr>\(recent)</table>
            """)
    }

    private func record(_ repoName: String, _ key: String) throws -> String {
        let repo = try store.existingRepository(repoName)
        let heads = try repo.heads(key)
        let names = try store.displayNames()
        let history = try repo.log(LogQuery(key: key, limit: 300))
        let document = try repo.get(key).map { ValueJSON.text($0, pretty: true) } ?? "(deleted)"
        var blame = ""
        if (try repo.get(key)) != nil {
            for e in try repo.blame(key) {
                let value = e.line.map { n in "\(n): " + (e.value.stringText ?? "") } ?? ValueJSON.text(e.value)
                blame += "<tr><td>\(htmlEscape(e.pathString))</td><td><pre>\(htmlEscape(value))</pre></td>"
                    + "<td>\(link("commit", ["id": e.commit.id.hex], e.commit.id.short))</td><td>\(htmlEscape(author(e.commit.author, names)))</td>"
                    + "<td>\(htmlEscape(time(e.commit)))</td></tr>"
            }
        }
        return page("Record \(key)", """
            <p>\(link("repo", ["name": repoName], "Repository \(repoName)"))</p>
            <p>\(heads.count) head\(heads.count == 1 ? "" : "s"): \(heads.map { link("commit", ["id": $0.id.hex], $0.id.short) }.joined(separator: ", "))</p>
            <h2>Document</h2><pre id="document">\(htmlEscape(document))</pre>
            <h2>History</h2>\(graph(history, names))
            <h2>Blame</h2><table id="blame"><tr><th>field</th><th>value</th><th>commit</th><th>author</th><th>time</th></tr>\(blame)</table>
            """)
    }

    private func commit(_ text: String) throws -> String {
        let id = try store.resolve(text)
        let info = try store.info(id)
        let repo = try store.repository(info.repository)
        let d = try repo.show(id)
        let names = try store.displayNames()
        var body = """
            <p>\(link("record", ["repo": info.repository, "key": info.key], "Record \(info.key)")) in \(link("repo", ["name": info.repository], info.repository))</p>
            <table id="meta"><tr><th>id</th><td><code>\(id.hex)</code></td></tr>
            <tr><th>kind</th><td>\(htmlEscape(Inspector.kind(info)))</td></tr>
            <tr><th>author</th><td>\(htmlEscape(author(info.author, names)))</td></tr>
            <tr><th>time</th><td>\(htmlEscape(time(info)))</td></tr>
            <tr><th>parents</th><td>\(info.parents.map { link("commit", ["id": $0.hex], $0.short) }.joined(separator: " "))</td></tr></table>
            <h2>Changes against \(d.parent.map { link("commit", ["id": $0.hex], $0.short) } ?? "nothing (first version)")</h2>
            \(sideBySide(d.changes, id: "diff"))
            """
        for side in d.sides {
            body += "<h2>Side \(link("commit", ["id": side.parent.id.hex], side.parent.id.short)) by \(htmlEscape(author(side.parent.author, names))), since the merge base</h2>"
                + sideBySide(side.changes, id: "side-\(side.parent.id.short)")
        }
        if !d.conflicts.isEmpty { body += "<h2>Conflicts resolved</h2>" + conflictTable(d.conflicts) }
        return page("Commit \(id.short)", body)
    }

    private func conflicts(_ repoName: String) throws -> String {
        let repo = try store.existingRepository(repoName)
        let names = try store.displayNames()
        var pending = ""
        for r in try repo.recordsWithSeveralHeads() {
            pending += "<li>\(link("record", ["repo": repoName, "key": r.key], r.key)): "
                + r.heads.map { "\(link("commit", ["id": $0.id.hex], $0.id.short)) by \(htmlEscape(author($0.author, names)))" }.joined(separator: ", ")
                + " — \(try repo.pendingConflicts(r.key).count) conflicts to resolve</li>"
        }
        var resolved = ""
        for m in try repo.conflicts().prefix(200) {
            resolved += "<h3>\(link("record", ["repo": repoName, "key": m.merge.key], m.merge.key)), merge \(link("commit", ["id": m.merge.id.hex], m.merge.id.short))</h3>"
                + conflictTable(m.conflicts)
        }
        return page("Conflicts in \(repoName)", """
            <p>\(link("repo", ["name": repoName], "Repository \(repoName)"))</p>
            <h2>Records with several heads</h2><ul id="pending">\(pending.isEmpty ? "<li>none</li>" : pending)</ul>
            <h2>Conflicts resolved by merges</h2><div id="resolved">\(resolved.isEmpty ? "<p>none</p>" : resolved)</div>
            """)
    }

    private func stats() throws -> String {
        var rows = ""
        for name in try store.repositoryNames() {
            guard let s = try? store.stats(name) else {
                rows += "<tr><td>\(htmlEscape(name))</td><td colspan=\"6\">in memory: no bytes on disk</td></tr>"
                continue
            }
            rows += "<tr><td>\(link("repo", ["name": name], name))</td><td>\(s.commits)</td><td>\(s.records)</td><td>\(s.liveRecords)</td>"
                + "<td>\(s.packs)</td><td>\(s.bytesOnDisk)</td><td>\(s.rawBytes)</td></tr>"
        }
        return page("Store stats", """
            <p>\(link("index", [:], "All repositories"))</p>
            <table id="stats"><tr><th>repository</th><th>commits</th><th>records</th><th>live</th><th>packs</th><th>bytes on disk</th><th>raw bytes</th></tr>\(rows)</table>
            """)
    }

    // MARK: Pieces

    /// The record's commit DAG: one row per commit, newest at the top, a column per line of
    /// descent, an edge to each parent shown.
    private func graph(_ commits: [CommitInfo], _ names: [PublicKey: String]) -> String {
        var lanes: [CommitID] = []
        var column: [CommitID: Int] = [:]
        for c in commits {
            let col = lanes.firstIndex(of: c.id) ?? { lanes.append(c.id); return lanes.count - 1 }()
            column[c.id] = col
            lanes.removeAll { $0 == c.id }
            var at = min(col, lanes.count)
            for p in c.parents where !lanes.contains(p) {
                lanes.insert(p, at: at)
                at += 1
            }
        }
        let row = Dictionary(uniqueKeysWithValues: commits.enumerated().map { ($1.id, $0) })
        let dx = 22, dy = 28, width = 40 + dx * ((column.values.max() ?? 0) + 1)
        var edges = "", nodes = ""
        for (i, c) in commits.enumerated() {
            let x = 20 + dx * (column[c.id] ?? 0), y = 16 + dy * i
            for p in c.parents {
                guard let j = row[p], let pc = column[p] else { continue }
                edges += "<line x1=\"\(x)\" y1=\"\(y)\" x2=\"\(20 + dx * pc)\" y2=\"\(16 + dy * j)\" stroke=\"#888\" stroke-width=\"2\"/>"
            }
            let fill = c.kind.isMerge ? "#b36b00" : c.kind.deletes ? "#b00020" : "#1565c0"
            nodes += "<a href=\"\(href("commit", ["id": c.id.hex]))\"><circle class=\"commit\" cx=\"\(x)\" cy=\"\(y)\" r=\"7\" fill=\"\(fill)\"><title>\(c.id.short)</title></circle></a>"
                + "<text x=\"\(width)\" y=\"\(y + 4)\" font-size=\"12\">\(c.id.short) \(htmlEscape(Inspector.kind(c))) · \(htmlEscape(author(c.author, names))) · \(htmlEscape(time(c)))</text>"
        }
        return "<svg id=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width + 560)\" height=\"\(dy * max(1, commits.count) + 8)\">\(edges)\(nodes)</svg>"
    }

    private func sideBySide(_ changes: [FieldChange], id: String) -> String {
        guard !changes.isEmpty else { return "<p>no field changes</p>" }
        let cell = { (v: Value?, kind: String) in v.map { "<pre class=\"\(kind)\">\(htmlEscape(ValueJSON.text($0, pretty: true)))</pre>" } ?? "" }
        let rows = changes.map { c in
            "<tr><td>\(htmlEscape(c.pathString))</td><td>\(c.kind.rawValue)</td><td>\(cell(c.old, "old"))</td><td>\(cell(c.new, "new"))</td></tr>"
        }.joined()
        return "<table id=\"\(id)\" class=\"diff\"><tr><th>field</th><th>change</th><th>before</th><th>after</th></tr>\(rows)</table>"
    }

    private func conflictTable(_ conflicts: [MergeConflict]) -> String {
        let show = { (v: Value?) in htmlEscape(v.map { ValueJSON.text($0) } ?? "(absent)") }
        let rows = conflicts.map { c in
            "<tr><td>\(htmlEscape(c.pathString))</td><td>\(c.rule.rawValue)</td><td>\(show(c.base))</td><td>\(show(c.ours))</td><td>\(show(c.theirs))</td><td><b>\(show(c.winner))</b></td></tr>"
        }.joined()
        return "<table class=\"conflicts\"><tr><th>field</th><th>rule</th><th>base</th><th>ours</th><th>theirs</th><th>winner</th></tr>\(rows)</table>"
    }

    private func author(_ key: PublicKey?, _ names: [PublicKey: String]) -> String {
        guard let key else { return "(merge)" }
        let hex = key.description
        return names[key].map { "\($0) <\(hex.prefix(12))>" } ?? String(hex.prefix(16))
    }

    private func time(_ c: CommitInfo) -> String { ISO8601.format(millis: Int64(clamping: c.timestamp.wallMillis)) }

    static func kind(_ c: CommitInfo) -> String {
        switch c.kind {
        case .put: "put"
        case .delete: "delete"
        case .merge: "merge"
        case .mergeDelete: "merge-delete"
        }
    }

    private var tokenField: String { token.map { "<input type=\"hidden\" name=\"token\" value=\"\(htmlEscape($0))\">" } ?? "" }

    private func href(_ page: String, _ query: [String: String]) -> String {
        var q = query
        if let token { q["token"] = token }
        let path = page == "index" ? "/ui" : "/ui/" + page
        let parameters = q.sorted { $0.key < $1.key }.map { "\($0.key)=\(Inspector.percentEncode($0.value))" }.joined(separator: "&amp;")
        return parameters.isEmpty ? path : path + "?" + parameters
    }

    private func link(_ page: String, _ query: [String: String], _ text: String) -> String {
        "<a href=\"\(href(page, query))\">\(htmlEscape(text))</a>"
    }

    private func page(_ title: String, _ body: String) -> String {
        """
        <!doctype html><html><head><meta charset="utf-8"><title>\(htmlEscape(title)) · Trellis</title>
        <style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}
        td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}pre{margin:0;white-space:pre-wrap}
        .old{background:#fdecea}.new{background:#e8f5e9}a{color:#1565c0}code{font-size:13px}</style></head>
        <body><h1>\(htmlEscape(title))</h1>\(body)</body></html>
        """
    }

    static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            }
        }
        return out
    }
}

/// HTML-escapes text for element content and attribute values.
func htmlEscape(_ s: String) -> String {
    var out = ""
    for ch in s {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(ch)
        }
    }
    return out
}

extension String {
    /// A form's GET query writes spaces as '+'.
    fileprivate var replacingPluses: String { String(map { $0 == "+" ? " " : $0 }) }
}

extension Value {
    fileprivate var stringText: String? {
        if case .string(let s) = self { return s.hasSuffix("\n") ? String(s.dropLast()) : s }
        return nil
    }
}
