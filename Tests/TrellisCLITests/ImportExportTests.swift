import Foundation
import Testing
import TrellisTestSupport

@Test func importThenExportRoundTrips() throws {
    let s = try CLIStore()
    var lines: [String] = []
    for n in 0..<2500 {
        lines.append(#"{"key": "r\#(n % 700)", "doc": {"n": \#(n), "tags": {"$set": ["a", "b\#(n % 3)"]}, "note": {"$text": "v\#(n)\n"}}}"#)
    }
    let file = s.dir.file("in.jsonl")
    try Data((lines.joined(separator: "\n") + "\n\n").utf8).write(to: URL(fileURLWithPath: file))
    let r = try s.ok(["import", "tasks", file, "--batch", "300"])
    #expect(r.out.contains("imported 2500 records"))
    #expect(try s.ok(["log", "tasks", "r0", "--json"]).out.components(separatedBy: "\"id\"").count - 1 == 4)  // 4 revisions of r0
    let exported = try s.ok(["export", "tasks"]).lines
    #expect(exported.count == 700)
    // Exported lines import into a fresh store to the same documents.
    let copy = try CLIStore()
    let out = copy.dir.file("out.jsonl")
    try Data((exported.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: out))
    try copy.ok(["import", "tasks", out])
    #expect(try copy.ok(["export", "tasks"]).lines == exported)
    #expect(try copy.ok(["get", "tasks", "r699", "--json"]).out == (try s.ok(["get", "tasks", "r699", "--json"])).out)
}

@Test func aBadLineStopsTheImportAndKeepsEverythingBefore() throws {
    let s = try CLIStore()
    let lines = (0..<10).map { #"{"key": "k\#($0)", "doc": {"n": \#($0)}}"# } + [#"{"key": "bad", "doc": {"n": }}"#, #"{"key": "after", "doc": {}}"#]
    let file = s.dir.file("in.jsonl")
    try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: file))
    let r = try trellis(["import", "tasks", file, "--batch", "4"], store: s.store)
    #expect(r.status != 0)
    #expect(r.stderr.hasPrefix("trellis: error: line 11: malformed JSON"))
    #expect(r.stderr.split(separator: "\n").count == 1)
    #expect(try s.ok(["keys", "tasks"]).lines.count == 10)
    for bad in [#"["not", "an object"]"#, #"{"key": 1, "doc": {}}"#, #"{"key": "k", "doc": {"$text": "x"}}"#, #"{"key": "k"}"#] {
        try Data((#"{"key": "ok", "doc": {}}"# + "\n" + bad + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let bad = try trellis(["import", "tasks", file], store: s.store)
        #expect(bad.status != 0 && bad.stderr.contains("line 2:"), "\(bad.stderr)")
    }
    let missing = try trellis(["import", "tasks", s.dir.file("nope.jsonl")], store: s.store)
    #expect(missing.status != 0 && missing.stderr.contains("cannot read"))
    let unknown = try trellis(["export", "nope"], store: s.store)
    #expect(unknown.status != 0 && unknown.stderr.contains("unknown repository"))
}
