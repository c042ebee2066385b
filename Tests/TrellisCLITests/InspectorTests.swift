import Foundation
import Testing
import TrellisTestSupport

/// Loads a page in headless Chromium (Debian's, which scripts/setup.sh installs): the DOM after
/// rendering, and a screenshot kept in .build/inspector-screenshots/ from the run.
private func browse(_ url: String, screenshot name: String) throws -> String {
    let chromium = "/usr/bin/chromium"
    let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1200,900"]
    let dom = try run(chromium, flags + ["--dump-dom", url])
    #expect(dom.status == 0, "chromium failed on \(url): \(dom.stderr.suffix(300))")
    let shots = TestPaths.packageRoot + "/.build/inspector-screenshots"
    try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
    let shot = try run(chromium, flags + ["--screenshot=\(shots)/\(name).png", url])
    #expect(shot.status == 0 && FileManager.default.fileExists(atPath: "\(shots)/\(name).png"), "no screenshot of \(url)")
    return dom.out
}

@Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "needs chromium: scripts/setup.sh installs it"))
func inspectorPagesRenderInARealBrowser() throws {
    let s = try CLIStore()
    try s.ok(["identity", "--name", "Ann Lee"])
    let base = try s.put("tasks", "t1", #"{"title": "A <b>", "done": false, "notes": {"$text": "one\ntwo\n"}}"#)
    try s.ok(["put", "tasks", "t1", "done:=true", "title=Mine"])
    try s.ok(["put", "tasks", "t1", "--parent", base, "title=Theirs"])
    _ = try s.put("tasks", "other key", #"{"v": 1}"#)
    let serve = try BackgroundProcess(TestPaths.trellis, ["serve", "--port", "0", "--store", s.store])
    defer { _ = serve.stop() }
    guard let line = serve.line(where: { $0.hasPrefix("inspector: ") }) else {
        Issue.record("no inspector URL printed: \(serve.stderr)")
        return
    }
    let index = String(line.dropFirst("inspector: ".count))
    let root = String(index.prefix { $0 != "?" }).replacingOccurrences(of: "/ui", with: "")
    let token = String(index.split(separator: "=").last ?? "")
    #expect(token.count == 32)
    // Without the token: refused.
    let refused = try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", root + "/ui/repo?name=tasks"])
    #expect(refused.out == "403")

    let home = try browse(index, screenshot: "index")
    #expect(home.contains("<h1>Trellis store</h1>") && home.contains(">tasks</a>"))
    // Pending: t1 has two heads.
    #expect(home.contains("conflicts?repo=tasks"))
    let repo = try browse("\(root)/ui/repo?name=tasks&q=other+k&token=\(token)", screenshot: "repository")
    #expect(repo.contains(">other key</a>") && !repo.contains(">t1</a></li>"))
    let record = try browse("\(root)/ui/record?repo=tasks&key=t1&token=\(token)", screenshot: "record")
    #expect(record.contains("2 heads") && record.contains("<svg id=\"graph\""))
    #expect(record.components(separatedBy: "class=\"commit\"").count - 1 == 3)
    #expect(record.contains("Ann Lee &lt;") && record.contains("1: one"))
    #expect(!record.contains("A <b>"))  // values are escaped
    let heads = try parse(try s.ok(["heads", "tasks", "t1", "--json"])) as! [[String: Any]]
    let head = heads[0]["id"] as! String
    let commit = try browse("\(root)/ui/commit?id=\(head.prefix(12))&token=\(token)", screenshot: "commit")
    #expect(commit.contains("<table id=\"diff\"") && commit.contains("class=\"old\"") && commit.contains("class=\"new\""))
    let conflicts = try browse("\(root)/ui/conflicts?repo=tasks&token=\(token)", screenshot: "conflicts")
    #expect(conflicts.contains("1 conflicts to resolve") || conflicts.contains("conflicts to resolve"))
    #expect(conflicts.contains(">t1</a>"))
    let stats = try browse("\(root)/ui/stats?token=\(token)", screenshot: "stats")
    #expect(stats.contains("<table id=\"stats\"") && stats.contains(">tasks</a>"))
    let missing = try run("/usr/bin/curl", ["-s", "-w", " %{http_code}", "\(root)/ui/record?repo=tasks&key=nope&token=\(token)"])
    #expect(missing.out.hasSuffix(" 404") && missing.out.contains("unknown key 'nope'"))
}
